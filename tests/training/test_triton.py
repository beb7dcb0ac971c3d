import re

import onnx

from tests.archives import write_constant_onnx
from training import triton


def test_triton_repository_layout_and_config_match_the_graph(tmp_path):
    graph_path = write_constant_onnx(tmp_path / "c.onnx", 6)
    folder = triton.main(
        triton.get_args_parser().parse_args(
            ["--onnx", str(graph_path), "--output", str(tmp_path / "repo"), "--version", "3", "--max-batch-size", "4"]
        )
    )
    assert folder == tmp_path / "repo" / "roadseg"
    assert (folder / "3" / "model.onnx").read_bytes() == graph_path.read_bytes()
    config = (folder / "config.pbtxt").read_text()
    graph = onnx.load(str(graph_path))
    [inp], [out] = graph.graph.input, graph.graph.output
    entries = re.findall(r'name: "(\w+)"\s+data_type: (\w+)\s+dims: \[ ([^\]]+) \]', config)
    # Per-request dims, the batch dimension left to max_batch_size: 3 channels in, 8 categories out, any H x W.
    assert entries == [(inp.name, "TYPE_FP32", "3, -1, -1"), (out.name, "TYPE_FP32", "8, -1, -1")]
    assert 'name: "roadseg"' in config and 'backend: "onnxruntime"' in config
    assert "max_batch_size: 4" in config and "kind: KIND_CPU" in config
    assert config.count("{") == config.count("}") and config.count("[") == config.count("]")
