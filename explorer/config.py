"""Defaults and operator settings, in one place.

Operators change behaviour through environment variables (documented in the README); visitors
cannot. Everything else reads :func:`settings`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = Path(__file__).resolve().parent / "assets"
DEFAULT_CHECKPOINT = ASSETS_DIR / "digits_convnet.safetensors"

# Safety caps on archives and images (a zip bomb or a decompression bomb is refused).
MAX_ZIP_ENTRIES = 20_000
MAX_ZIP_TOTAL_BYTES = 1 << 30  # 1 GiB uncompressed
MAX_ZIP_RATIO = 200.0  # uncompressed / compressed, per entry
MAX_IMAGE_PIXELS = 40_000_000  # 40 MP, well above any photo a face demo needs

THUMBNAIL_SIZE = 64
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".pgm", ".ppm", ".pnm", ".tif", ".tiff")
BF16_MIN_COSINE = 0.9999
EXACT_SEARCH_UP_TO = 20_000  # items: neighbour search is exact up to here, HNSW beyond


def numba_cache_dir() -> Path:
    """Where numba keeps compiled code: ``<EXPLORER_CACHE_DIR>/numba``."""
    cache = Path(os.environ.get("EXPLORER_CACHE_DIR", ".cache")).expanduser()
    return (cache if cache.is_absolute() else REPO_ROOT / cache) / "numba"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _paths(name: str, default: str) -> list[Path]:
    raw = os.environ.get(name, default)
    out = []
    for part in raw.split(os.pathsep):
        if part.strip():
            p = Path(part.strip()).expanduser()
            out.append((p if p.is_absolute() else REPO_ROOT / p).resolve())
    return out


@dataclass(frozen=True)
class Settings:
    """Operator settings, read from the environment.

    - ``EXPLORER_CACHE_DIR``: where embeddings of server-side data are cached (default ``.cache``).
    - ``EXPLORER_DATA_ROOTS``: folders (``:``-separated) whose sub-folders visitors may open by path.
    - ``EXPLORER_CACHE_UPLOADS``: also cache embeddings of uploads on disk (personal data: off).
    - ``EXPLORER_ALLOW_TORCHSCRIPT_UPLOAD``: accept TorchScript uploads (they run code: off).
    - ``EXPLORER_THREADS``: torch intra-op threads for embedding (default: all cores).
    - ``EXPLORER_MAX_PAIRS``: above this many pairs, impostor pairs are sampled (default 1.5e9).
    - ``EXPLORER_IMPOSTOR_SAMPLE``: how many impostor pairs are then sampled (default 2e7).
    - ``EXPLORER_GALLERY_DIR``: keep the Identify page's gallery on the server, shared by every
      visitor (SQLite + the enrolled chips in this folder); unset: each visitor's own, in the session.
    - ``EXPLORER_BF16``: embed with bf16 autocast where the CPU has native bf16 and a calibration
      batch agrees with fp32 (off: embeddings, distances and thresholds are exact fp32).
    - ``EXPLORER_MAX_SCORE_ROWS``: the most pairs a scores or pairs file may hold (default 2e6).
    - ``EXPLORER_MAX_IMAGE_SIDE``: images are kept with their longer side at most this (default 2048).
    - ``EXPLORER_MAX_LOAD_PIXELS``: pixels one load of images may keep in all (default 1e8, ~0.3 GB RGB).
    - ``EXPLORER_MAX_TABLE_BYTES``: the most a vector table may take once decoded (default 512 MiB; loading takes about 2.5 x that at peak).
    - ``EXPLORER_MAX_ARCHIVE_FILES`` / ``EXPLORER_MAX_ARCHIVE_BYTES`` / ``EXPLORER_MAX_ZIP_RATIO``: an
      archive or server folder of images holds at most this many files (20,000) and bytes
      uncompressed (1 GiB); an entry expanding more than this many times (200) is a bomb.
    - ``EXPLORER_MAX_IMAGE_PIXELS``: one image may declare at most this many pixels (4e7).
    - ``EXPLORER_MAX_MODEL_PARAMS``: a model spec may describe at most this many parameters (1e8).
    - ``EXPLORER_KEEP_CHECKPOINTS``: a training run keeps its best checkpoint and this many last ones (3).
    - ``EXPLORER_TRAIN_IDLE_S`` / ``EXPLORER_TRAIN_MAX_S``: a run paused this long (900 s), or going
      this long (7200 s), gives the one training slot up when another visitor asks for it.
    - ``EXPLORER_ONNX_TIMEOUT_S`` / ``EXPLORER_ONNX_MEMORY_BYTES``: an uploaded ONNX model runs in a
      child process, each batch within this time (60 s) and this address space (4 GiB).
    - ``EXPLORER_MAX_CACHE_BYTES``: the disk cache of embeddings and face chips, oldest out first (4 GiB).
    - ``EXPLORER_BOOTSTRAP``: bootstrap replicates for intervals over subjects (default 1000).
    - ``EXPLORER_HOVER_IMAGES``: up to this many items (default 2,000) the map shows an item's image
      on hover (the thumbnails go to the browser as one JPEG, about 0.4 kB a face at 32 px, with every rerun of the page); beyond, a click shows it.
    - ``EXPLORER_MAP_POINTS``: the most points a map sends to the browser (default 100,000); beyond,
      a seeded sample is drawn (search matches always), while a box or lasso selects over every item.
    - ``EXPLORER_DEVICE``: where models embed and train: ``auto`` (default: CUDA when torch sees a
      GPU, else the CPU), ``cpu`` or ``cuda``; results come back as numpy either way.
    - ``EXPLORER_LIVE_MAX_FPS``: a live camera stream is processed at most this many frames a second
      (default 20); frames beyond, or arriving while one is processed, are dropped, never queued.
    - ``EXPLORER_LIVE_STREAMS``: the most live camera streams the server processes at once (default
      4; one per visitor session); beyond, a visitor is offered the snapshot camera.
    - ``EXPLORER_LIVE_DETECT_SIDE``: live frames are scaled to this longer side for face detection
      (default 480: faces from about 110 px in a 640 x 480 frame; larger finds smaller faces, slower).
    - ``EXPLORER_LIVE_NO_FRAME_S``: a started live stream with no frame after this many seconds
      (default 10) is said to have failed to connect, and the snapshot camera opens.
    """

    cache_dir: Path
    data_roots: list[Path] = field(default_factory=list)
    cache_uploads: bool = False
    allow_torchscript_upload: bool = False
    threads: int = 1
    max_pairs: int = 1_500_000_000
    impostor_sample: int = 20_000_000
    bf16: bool = False
    gallery_dir: Path | None = None
    max_score_rows: int = 2_000_000
    max_image_side: int = 2048
    max_load_pixels: int = 100_000_000
    max_table_bytes: int = 512 << 20
    keep_checkpoints: int = 3
    max_archive_files: int = MAX_ZIP_ENTRIES
    max_archive_bytes: int = MAX_ZIP_TOTAL_BYTES
    max_zip_ratio: float = MAX_ZIP_RATIO
    max_image_pixels: int = MAX_IMAGE_PIXELS
    max_model_params: int = 100_000_000
    train_idle_s: float = 900.0
    onnx_timeout_s: float = 60.0
    onnx_memory_bytes: int = 4 << 30
    train_max_s: float = 7200.0
    max_cache_bytes: int = 4 << 30
    bootstrap: int = 1000
    map_points: int = 100_000
    hover_images: int = 2000
    device: str = "auto"
    live_max_fps: float = 20.0
    live_streams: int = 4
    live_detect_side: int = 480
    live_no_frame_s: float = 10.0


def settings() -> Settings:
    cache = os.environ.get("EXPLORER_CACHE_DIR", ".cache")
    cache_dir = Path(cache).expanduser()
    if not cache_dir.is_absolute():
        cache_dir = REPO_ROOT / cache_dir
    threads = int(os.environ.get("EXPLORER_THREADS", "0") or 0) or (os.cpu_count() or 1)
    return Settings(
        cache_dir=cache_dir,
        data_roots=_paths("EXPLORER_DATA_ROOTS", os.pathsep.join(["data", "../shared/data"])),
        cache_uploads=_flag("EXPLORER_CACHE_UPLOADS"),
        bf16=_flag("EXPLORER_BF16"),
        allow_torchscript_upload=_flag("EXPLORER_ALLOW_TORCHSCRIPT_UPLOAD"),
        threads=threads,
        max_pairs=int(float(os.environ.get("EXPLORER_MAX_PAIRS", "1.5e9"))),
        impostor_sample=int(float(os.environ.get("EXPLORER_IMPOSTOR_SAMPLE", "2e7"))),
        max_score_rows=int(float(os.environ.get("EXPLORER_MAX_SCORE_ROWS", "2e6"))),
        max_image_side=int(float(os.environ.get("EXPLORER_MAX_IMAGE_SIDE", "2048"))),
        max_load_pixels=int(float(os.environ.get("EXPLORER_MAX_LOAD_PIXELS", "1e8"))),
        max_table_bytes=int(float(os.environ.get("EXPLORER_MAX_TABLE_BYTES", str(512 << 20)))),
        keep_checkpoints=max(1, int(os.environ.get("EXPLORER_KEEP_CHECKPOINTS", "3"))),
        max_archive_files=int(float(os.environ.get("EXPLORER_MAX_ARCHIVE_FILES", str(MAX_ZIP_ENTRIES)))),
        max_archive_bytes=int(float(os.environ.get("EXPLORER_MAX_ARCHIVE_BYTES", str(MAX_ZIP_TOTAL_BYTES)))),
        max_zip_ratio=float(os.environ.get("EXPLORER_MAX_ZIP_RATIO", str(MAX_ZIP_RATIO))),
        max_image_pixels=int(float(os.environ.get("EXPLORER_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS)))),
        max_model_params=int(float(os.environ.get("EXPLORER_MAX_MODEL_PARAMS", "1e8"))),
        train_idle_s=float(os.environ.get("EXPLORER_TRAIN_IDLE_S", "900")),
        onnx_timeout_s=float(os.environ.get("EXPLORER_ONNX_TIMEOUT_S", "60")),
        onnx_memory_bytes=int(float(os.environ.get("EXPLORER_ONNX_MEMORY_BYTES", str(4 << 30)))),
        train_max_s=float(os.environ.get("EXPLORER_TRAIN_MAX_S", "7200")),
        max_cache_bytes=int(float(os.environ.get("EXPLORER_MAX_CACHE_BYTES", str(4 << 30)))),
        bootstrap=int(float(os.environ.get("EXPLORER_BOOTSTRAP", "1000"))),
        hover_images=int(float(os.environ.get("EXPLORER_HOVER_IMAGES", "2000"))),
        map_points=max(1000, int(float(os.environ.get("EXPLORER_MAP_POINTS", "1e5")))),
        device=os.environ.get("EXPLORER_DEVICE", "auto").strip().lower() or "auto",
        live_max_fps=max(1.0, float(os.environ.get("EXPLORER_LIVE_MAX_FPS", "20"))),
        live_streams=max(1, int(os.environ.get("EXPLORER_LIVE_STREAMS", "4"))),
        live_detect_side=max(160, int(os.environ.get("EXPLORER_LIVE_DETECT_SIDE", "480"))),
        live_no_frame_s=max(1.0, float(os.environ.get("EXPLORER_LIVE_NO_FRAME_S", "10"))),
        gallery_dir=Path(os.environ["EXPLORER_GALLERY_DIR"]).expanduser()
        if os.environ.get("EXPLORER_GALLERY_DIR")
        else None,
    )
