"""Faces: detect, find 5 landmarks, cut an aligned chip, describe it (dlib, weights from the
``face_recognition_models`` package)."""
