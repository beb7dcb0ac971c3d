import multiprocessing

import numpy as np
import pytest

from benchmarks.measure import peak_rss_mb


def test_a_spawned_process_reports_its_own_peak_not_its_parents():
    held = np.ones(1200 * 2**20 // 8)  # 1.2 GB resident in this process while the child starts
    assert peak_rss_mb() >= 1200
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        child = pool.apply(peak_rss_mb)
    # The child imports Python, NumPy and PyTorch (about 0.6 GB here); getrusage's ru_maxrss would say 1.2 GB+.
    assert 0 < child < 1000, child
    del held


def test_peak_rss_reads_the_high_water_mark(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmPeak:\t 9000 kB\nVmHWM:\t  51200 kB\nVmRSS:\t 40000 kB\n")
    assert peak_rss_mb(status) == 50.0
    status.write_text("Name:\tpython\n")
    with pytest.raises(RuntimeError, match="VmHWM"):
        peak_rss_mb(status)
