"""TensorFlow native: tf.Module of tf.Variables, tf.nn ops, GradientTape inside tf.function."""
