"""JAX outside Keras: only the calibration matmul (Keras-on-JAX's cells are in models/keras)."""
