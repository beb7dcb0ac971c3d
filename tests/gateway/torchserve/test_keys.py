import json

from gateway.torchserve.keys import TorchServeKeys, is_key_refusal


def test_keys_come_from_the_key_file_and_follow_its_changes(tmp_path):
    path = tmp_path / "key_file.json"
    keys = TorchServeKeys(path, inference="from-settings")
    assert keys.header("inference") == {"Authorization": "Bearer from-settings"}  # no file yet
    path.write_text(json.dumps({"inference": {"key": "a"}, "management": {"key": "b"}, "API": {"key": "c"}}))
    keys.reload()
    assert keys.get("inference") == "a" and keys.get("management") == "b" and keys.get("api") == "c"
    path.write_text("{half a file")
    keys.reload()
    assert keys.get("inference") == "a"  # a file being rewritten keeps the last good keys


def test_no_key_no_header():
    assert TorchServeKeys().header("management") == {}


def test_key_refusal_is_recognised():
    assert is_key_refusal(400, b'{"message": "Token Authorization failed. Token either incorrect"}')
    assert not is_key_refusal(400, b'{"message": "the image data is truncated"}')
