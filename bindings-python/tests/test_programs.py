"""Programs written against confluent-kafka's API (tests/programs/) run unchanged with
confluent-kafka, and with polykafka once the import is changed."""

import pathlib
import re
import subprocess
import sys

import pytest

from conftest import unique

PROGRAMS = sorted((pathlib.Path(__file__).parent / "programs").glob("*.py"))


def with_polykafka(source):
    """The only change: the import says polykafka."""
    source = re.sub(r"^import confluent_kafka$", "import polykafka as confluent_kafka", source, flags=re.M)
    return re.sub(r"^from confluent_kafka(\.\w+)? import", r"from polykafka\1 import", source, flags=re.M)


@pytest.mark.parametrize("module", ["confluent_kafka", "polykafka"])
@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.stem)
def test_program_runs(program, module, bootstrap, tmp_path):
    source = program.read_text()
    if module == "polykafka":
        source = with_polykafka(source)
        assert "confluent_kafka import" not in source.replace("polykafka as confluent_kafka", "")
    script = tmp_path / program.name
    script.write_text(source)
    out = subprocess.run([sys.executable, str(script), bootstrap, unique("prog")],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
