"""dlib's face models, loaded once per process from the installed ``face_recognition_models``.

The package's ``__init__`` imports ``pkg_resources``, which current setuptools no longer has, so
its folder is found without importing it. Only three of its files are ever opened: the HOG
detector is built into dlib, then the 5-point landmark model, the ResNet descriptor and
(optionally) the CNN detector. The 68-point landmark model beside them is never loaded: its
training data (iBUG 300-W) forbid commercial use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from functools import cache
from pathlib import Path

from explorer.errors import InputError

PACKAGE = "face_recognition_models"
FILES = {
    "landmarks": "shape_predictor_5_face_landmarks.dat",
    "descriptor": "dlib_face_recognition_resnet_model_v1.dat",
    "cnn_detector": "mmod_human_face_detector.dat",
}
NEVER = "shape_predictor_68_face_landmarks.dat"
LOCK = threading.Lock()  # dlib's models are not documented as thread-safe: one call at a time


def model_folder() -> Path:
    spec = importlib.util.find_spec(PACKAGE)  # finds the package without running its __init__
    if spec is None or spec.origin is None:
        raise InputError(f"the face models are not installed: pip install {PACKAGE} (see requirements.txt)")
    return Path(spec.origin).parent / "models"


def model_path(kind: str) -> Path:
    if kind not in FILES:
        raise ValueError(f"unknown face model {kind!r}; one of {', '.join(FILES)}")
    path = model_folder() / FILES[kind]
    if not path.is_file():
        raise InputError(f"face model file missing: {path}")
    return path


@cache
def file_hash(kind: str) -> str:
    return hashlib.sha256(model_path(kind).read_bytes()).hexdigest()


@cache
def hog_detector():
    import dlib

    return dlib.get_frontal_face_detector()


@cache
def cnn_detector():
    import dlib

    return dlib.cnn_face_detection_model_v1(str(model_path("cnn_detector")))


@cache
def landmarks():
    import dlib

    return dlib.shape_predictor(str(model_path("landmarks")))


@cache
def descriptor():
    import dlib

    return dlib.face_recognition_model_v1(str(model_path("descriptor")))
