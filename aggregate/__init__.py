"""Build one trustworthy speech-emotion training set from IEMOCAP, CREMA-D, TESS and RAVDESS."""

__version__ = "0.1.0"
