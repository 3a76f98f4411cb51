"""dlib's ResNet face descriptor as an Encoder: photos -> aligned chips -> 128-d descriptors
(dlib's network and weights, run by torch: :mod:`explorer.faces.descriptor`).

Its distances are euclidean on the raw descriptors (not normalised): dlib calls two faces the same
person below 0.6. Weights and landmark model come installed with ``face_recognition_models``.
"""

from __future__ import annotations

import numpy as np

from explorer.errors import InputError
from explorer.faces import models
from explorer.faces.acquisition import AcquisitionCache, acquire_dataset
from explorer.faces.descriptor import BATCH
from explorer.faces.pipeline import CHIP_SIZE, DEFAULT_SETTINGS, Face, FaceSettings, acquire, describe
from explorer.models.encoder import Encoder, ModelInfo, TorchEncoder
from explorer.models.spec import InputSpec

NAME = "Face descriptor (dlib ResNet, 128-d)"
SAME_PERSON = 0.6  # dlib's euclidean threshold for "same person"
CARD = {
    "what": "dlib's ResNet-29 face descriptor: detect (HOG), align on 5 landmarks, 150 px chip, 128-d vector",
    "engine": "dlib's weights read from its model file and run by torch (explorer.models.dlib_resnet): equal to dlib's "
    "own call within 1e-4 per component (about 5e-7 measured on real faces)",
    "licence": "weights and models public domain (CC0), as the face_recognition_models package states; "
    "dlib itself: Boost Software License",
    "trained_on": "about 3 million faces of 7,485 identities (the FaceScrub and VGG data sets and images "
    "scraped from the internet), as its author states",
    "lfw": "99.38 % on LFW's standard protocol, as its author reports",
    "distance": "euclidean",
    "threshold": f"same person when the euclidean distance is below {SAME_PERSON}",
}


class FaceEncoder(Encoder):
    """Face chips -> dlib descriptors; ``prepare`` cuts the chips from photos first."""

    def __init__(self, settings: FaceSettings = DEFAULT_SETTINGS):
        spec = InputSpec(kind="image", height=CHIP_SIZE, width=CHIP_SIZE, channels=3, mean=(0.0,) * 3, std=(1.0,) * 3)
        digest = f"{models.file_hash('descriptor')[:32]}{models.file_hash('landmarks')[:32]}"
        card = {**CARD, "faces": settings.key(), "weights_sha256": models.file_hash("descriptor")}
        info = ModelInfo(NAME, "dlib weights in torch", digest, "installed package", card)
        super().__init__(spec, 128, info, normalize=False)
        self.settings = settings

    @property
    def spec(self):
        """The network's ModelSpec: training can start from it (fine-tuning dlib's weights)."""
        from explorer.faces.descriptor import descriptor
        from explorer.models.dlib_resnet import descriptor_spec

        return descriptor_spec(descriptor().mean_rgb, self.restore_token, info={"trained_on": CARD["trained_on"]})

    @property
    def source(self):
        """The torch module with dlib's weights (its state is copied into a run that fine-tunes it)."""
        from explorer.faces.descriptor import descriptor

        return descriptor().net

    @property
    def restore_token(self) -> str:
        """How the app's address names this descriptor (a head trained on it names its base so)."""
        return "faces-crops" if self.settings.crops else "faces"

    def prepare(self, dataset, *, progress=None, store: AcquisitionCache | None = None):
        if dataset.faces is not None:
            return dataset  # chips already
        if store is not None:
            return store.get_or_acquire(dataset, self.settings, progress=progress)
        return acquire_dataset(dataset, self.settings, progress=progress)

    def acquire_item(self, image):
        """The photo's aligned face chip, or the failure to acquire (as ``prepare`` lists it)."""
        got = acquire(image, self.settings)
        return got.chip if isinstance(got, Face) else f"failure to acquire: {got}"

    def preprocess(self, items) -> np.ndarray:
        chips = [np.asarray(c, np.uint8) for c in items]
        if any(c.shape != (CHIP_SIZE, CHIP_SIZE, 3) for c in chips):
            raise InputError("the face descriptor takes aligned 150 px face chips: load photos through it")
        return np.stack(chips)

    @property
    def batch_size(self) -> int:
        return BATCH

    def forward(self, batch: np.ndarray) -> np.ndarray:
        return describe(list(batch))

    def preprocessing_key(self) -> str:
        return f"dlib face chips {CHIP_SIZE}px|{self.settings.key()}"


class TunedFaceEncoder(TorchEncoder):
    """dlib's descriptor fine-tuned here (a ``dlib_resnet`` checkpoint): the face pipeline cuts its
    chips as it does for the descriptor (``spec.info["faces"]`` says how), then the trained module
    describes them."""

    def __init__(self, model, spec, info: ModelInfo):
        super().__init__(model, spec.input, spec.out_dim, info, normalize=spec.normalize)
        self.settings = FaceSettings(crops=spec.info.get("faces") == "faces-crops")

    prepare = FaceEncoder.prepare
    acquire_item = FaceEncoder.acquire_item

    @property
    def distance(self) -> str:
        return "euclidean"  # read as dlib's descriptor is, and its same-person threshold

    @property
    def restore_token(self) -> str:
        return "faces-crops" if self.settings.crops else "faces"

    @property
    def batch_size(self) -> int:
        return BATCH

    def preprocessing_key(self) -> str:
        return f"{super().preprocessing_key()}|face chips {CHIP_SIZE}px|{self.settings.key()}"


FACE_MODELS = (FaceEncoder, TunedFaceEncoder)  # what describes faces: the descriptor, or one trained from it


def as_face_model(encoder):
    """A checkpoint of dlib's network (fine-tuned here) as a face model: photos go through the
    face pipeline first. Any other encoder as it is."""
    spec = getattr(encoder, "spec", None)
    if spec is None or spec.architecture != "dlib_resnet" or isinstance(encoder, FACE_MODELS):
        return encoder
    return TunedFaceEncoder(encoder.source, spec, encoder.model_info)
