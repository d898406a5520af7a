"""Evaluation: one module per task (`country`, `map`, `layout`, `city`) over shared judge helpers (`common`);
`python -m streetgen.eval` is the command line (`__main__`)."""
