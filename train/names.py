"""The model names, importable without Keras (the CLI lists them before TensorFlow loads)."""
DEFAULT_MODEL = "fusion"
MODEL_NAMES = ("fusion", "paper-cnn", "paper-cnn-flatten", "conv1d", "lstm", "cnn-lstm", "attention-fcn", "bilstm")
