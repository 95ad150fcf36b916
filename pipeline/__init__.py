"""Library behind the DVC stages (stages/ holds one thin script per stage)."""
