"""Paper tables and studies: each table's script (.sh, trains and evaluates) beside its builder (.py).

Performance benchmarks live in benchmarks/; results_env.sh and recall_by_cue.py are shared plumbing.
"""
