"""What every stage imports (errors, atomic I/O, params, command line): small and stable, as an edit reruns all."""
