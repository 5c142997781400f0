"""One module per node of the reply graph; each an async function of (state, runtime)."""
