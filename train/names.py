"""The model names, importable without Keras (the CLI lists them before TensorFlow loads)."""
DEFAULT_MODEL = "fusion"
MODEL_NAMES = ("fusion", "paper-cnn", "paper-cnn-flatten", "conv1d", "lstm", "cnn-lstm", "attention-fcn", "bilstm")
PAPER_CNN_OPTIONS = ("batch_norm_momentum", "dropout", "small", "spec_augment", "pooling")  # paper_cnn.OPTIONS
PAPER_CNN_MODELS = ("paper-cnn", "paper-cnn-flatten")


def check_model_options(model: str, options: dict) -> None:
    """Refuse options a model does not take (only the paper's network has any), before Keras loads."""
    from aggregate.errors import InputError

    if model not in MODEL_NAMES:
        raise InputError(f"unknown model {model!r}; use one of {', '.join(MODEL_NAMES)}")
    unknown = sorted(set(options) - set(PAPER_CNN_OPTIONS if model in PAPER_CNN_MODELS else ()))
    if unknown:
        raise InputError(f"--small, --dropout, --bn-momentum, --spec-augment and --pooling are options of "
                         f"--model paper-cnn only, not of --model {model} (got {', '.join(unknown)})")
