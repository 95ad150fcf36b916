"""One thin script per DVC stage; every path comes from the stage's `cmd` in dvc.yaml."""
