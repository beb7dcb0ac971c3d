"""The ONNX model as a Triton Inference Server model repository (ONNX Runtime backend, CPU instances).

    python -m training.triton --onnx models/vgg16_unet_v3.0.int8.onnx --output triton_models --version 3

writes OUTPUT/roadseg/config.pbtxt and OUTPUT/roadseg/<version>/model.onnx. Triton then serves
`image` (N, 3, H, W) float32 -> `logits` (N, 8, H, W); a client prepares images with
`roadseg.preprocessing.model_input` and turns logits into the mask with
`roadseg.logits.category_ids_at_size`, the functions the TorchServe handler uses, so both servers
give the same masks. Not run by the tests: the project installs no Triton server (see the README).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import onnx

from roadseg.contract import MODEL_NAME

# ONNX element types -> Triton's data types (the graph's are float32; the table names what it can hold).
TRITON_TYPES: dict[int, str] = {onnx.TensorProto.FLOAT: "TYPE_FP32", onnx.TensorProto.FLOAT16: "TYPE_FP16"}


def _tensor(value: onnx.ValueInfoProto) -> str:
    """A config.pbtxt input/output entry: the per-request dims (batch excluded; -1 where dynamic)."""
    shape = value.type.tensor_type.shape.dim[1:]
    dims = ", ".join(str(d.dim_value) if d.HasField("dim_value") else "-1" for d in shape)
    data_type = TRITON_TYPES[value.type.tensor_type.elem_type]
    return f'  {{\n    name: "{value.name}"\n    data_type: {data_type}\n    dims: [ {dims} ]\n  }}'


def triton_config(graph: onnx.ModelProto, name: str, max_batch_size: int, queue_delay_us: int) -> str:
    """config.pbtxt for `graph` on CPU instances, with Triton's dynamic batching."""
    inputs = ",\n".join(_tensor(v) for v in graph.graph.input)
    outputs = ",\n".join(_tensor(v) for v in graph.graph.output)
    return (
        f'name: "{name}"\n'
        'backend: "onnxruntime"\n'
        f"max_batch_size: {max_batch_size}\n"
        f"input [\n{inputs}\n]\n"
        f"output [\n{outputs}\n]\n"
        f"dynamic_batching {{\n  max_queue_delay_microseconds: {queue_delay_us}\n}}\n"
        "instance_group [\n  {\n    count: 1\n    kind: KIND_CPU\n  }\n]\n"
    )


def write_triton_repository(
    model: Path,
    output: Path,
    name: str = MODEL_NAME,
    version: int = 1,
    max_batch_size: int = 8,
    queue_delay_us: int = 2000,
) -> Path:
    """OUTPUT/NAME/config.pbtxt and OUTPUT/NAME/VERSION/model.onnx; returns the model's folder."""
    graph = onnx.load(str(model), load_external_data=False)
    folder = output / name
    (folder / str(version)).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model, folder / str(version) / "model.onnx")
    (folder / "config.pbtxt").write_text(triton_config(graph, name, max_batch_size, queue_delay_us))
    return folder


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--onnx", required=True, type=Path, help="the ONNX graph (training.export --onnx, training.quantize)"
    )
    p.add_argument("--output", required=True, type=Path, help="the model repository folder")
    p.add_argument("--name", default=MODEL_NAME, help="model name in Triton")
    p.add_argument("--version", type=int, default=1, help="Triton model version (an integer)")
    p.add_argument("--max-batch-size", type=int, default=8, help="largest batch Triton's dynamic batcher forms")
    p.add_argument("--queue-delay-us", type=int, default=2000, help="how long the batcher waits for company")
    return p


def main(args: argparse.Namespace) -> Path:
    folder = write_triton_repository(
        args.onnx, args.output, args.name, args.version, args.max_batch_size, args.queue_delay_us
    )
    print(f"wrote {folder}/config.pbtxt and {folder}/{args.version}/model.onnx")
    return folder


if __name__ == "__main__":
    main(get_args_parser().parse_args())
