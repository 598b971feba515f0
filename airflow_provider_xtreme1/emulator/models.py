"""Seeded models (ids 1 and 2 as in the real V2__Init_data.sql) and deterministic fake predictions."""

from __future__ import annotations

import hashlib
import random
from typing import Any

LIDAR_CLASSES = [
    "CAR",
    "TRUCK",
    "CONSTRUCTION_VEHICLE",
    "BUS",
    "TRAILER",
    "BARRIER",
    "MOTORCYCLE",
    "BICYCLE",
    "PEDESTRIAN",
    "TRAFFIC_CONE",
]
COCO_CLASSES = [
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
]


def seed_models(now: str) -> dict[int, dict[str, Any]]:
    """The two models every fresh Xtreme1 install has."""

    def model(mid: int, name: str, dtype: str, code: str, url: str, classes: list[str]) -> dict[str, Any]:
        return {
            "id": mid,
            "name": name,
            "version": "v1.0",
            "description": "",
            "scenario": "",
            "classes": [
                {"name": c.replace("_", " ").title() if dtype == "LIDAR" else c, "code": c} for c in classes
            ],
            "datasetType": dtype,
            "modelCode": code,
            "url": url,
            "modelType": "DETECTION",
            "createdAt": now,
        }

    return {
        1: model(
            1,
            "Basic Lidar Object Detection11",
            "LIDAR",
            "LIDAR_DETECTION",
            "http://point-cloud-object-detection:5000/pointCloud/recognition",
            LIDAR_CLASSES,
        ),
        2: model(
            2,
            "COCO Object Detection",
            "IMAGE",
            "IMAGE_DETECTION",
            "http://image-object-detection:5000/image/recognition ",
            COCO_CLASSES,
        ),
    }


def model_fits(model_type: str, dataset_type: str) -> bool:
    if model_type == "LIDAR":
        return dataset_type in ("LIDAR_FUSION", "LIDAR_BASIC")
    return model_type == dataset_type


def predict(
    model: dict[str, Any], data_name: str, width: int | None = None, height: int | None = None
) -> list[dict[str, Any]]:
    """Deterministic objects for one data item (same name → same objects)."""
    seed = int.from_bytes(hashlib.sha256(f"{model['id']}:{data_name}".encode()).digest()[:8], "big")
    rnd = random.Random(seed)
    codes = [c["code"] for c in model["classes"]] or ["object"]
    objects = []
    for _ in range(rnd.randint(2, 5)):
        code = rnd.choice(codes[:10])
        confidence = round(rnd.uniform(0.2, 0.99), 4)
        if model["datasetType"] == "LIDAR":
            objects.append(
                {
                    "modelClass": code,
                    "type": "3D_BOX",
                    "confidence": confidence,
                    "center3D": {
                        "x": round(rnd.uniform(-40, 40), 3),
                        "y": round(rnd.uniform(-40, 40), 3),
                        "z": round(rnd.uniform(-1, 2), 3),
                    },
                    "rotation3D": {"x": 0, "y": 0, "z": round(rnd.uniform(-3.14, 3.14), 4)},
                    "size3D": {
                        "x": round(rnd.uniform(0.5, 10), 3),
                        "y": round(rnd.uniform(0.5, 3), 3),
                        "z": round(rnd.uniform(0.5, 4), 3),
                    },
                }
            )
        else:
            w, h = width or 640, height or 480
            x1, y1 = rnd.uniform(0, w * 0.7), rnd.uniform(0, h * 0.7)
            x2, y2 = rnd.uniform(x1 + 1, w), rnd.uniform(y1 + 1, h)
            objects.append(
                {
                    "modelClass": code,
                    "confidence": confidence,
                    "type": "RECTANGLE",
                    "points": [
                        {"x": round(x1, 2), "y": round(y1, 2)},
                        {"x": round(x2, 2), "y": round(y2, 2)},
                    ],
                }
            )
    return objects


def filter_predictions(objects: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    classes = {str(c).lower() for c in params.get("classes") or []}
    low = float(params.get("minConfidence") if params.get("minConfidence") is not None else 0)
    high = float(params.get("maxConfidence") if params.get("maxConfidence") is not None else 1)
    return [o for o in objects if o["modelClass"].lower() in classes and low <= o["confidence"] <= high]
