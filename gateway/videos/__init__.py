"""Video jobs: the codec (PyAV), the job record, the frame pipeline and the job store."""
