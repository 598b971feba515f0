"""Seeded models (ids 1 and 2 as in the real V2__Init_data.sql) and deterministic fake predictions."""

from __future__ import annotations

import hashlib
import random
from typing import Any

# (name, code) exactly as deploy/mysql/migration/V2__Init_data.sql seeds them, typos included:
# " Bus" has a leading space and "CONSTRUCTION_VEHICLE " a trailing one.
LIDAR_CLASSES = [
    ("Car", "CAR"),
    ("Truck", "TRUCK"),
    ("Construction Vehicle", "CONSTRUCTION_VEHICLE "),
    (" Bus", "BUS"),
    ("Trailer", "TRAILER"),
    ("Barrier", "BARRIER"),
    ("Motorcycle", "MOTORCYCLE"),
    ("Bicycle", "BICYCLE"),
    ("Pedestrian", "PEDESTRIAN"),
    ("Traffic Cone", "TRAFFIC_CONE"),
]
COCO_CLASSES = [
    ("Person", "person"),
    ("Bicycle", "bicycle"),
    ("Car", "car"),
    ("Motorcycle", "motorcycle"),
    ("Airplane", "airplane"),
    ("Train", "train"),
    ("Truck", "truck"),
    ("Boat", "boat"),
    ("Traffic Light", "traffic light"),
    ("Fire Hydrant", "fire hydrant"),
    ("Stop Sign", "stop sign"),
    ("Parking Meter", "parking meter"),
    ("Bench", "bench"),
    ("Bird", "bird"),
    ("Cat", "cat"),
    ("Dog", "dog"),
    ("Horse", "horse"),
    ("Sheep", "sheep"),
    ("Cow", "cow"),
    ("Elephant", "elephant"),
    ("Bear", "bear"),
    ("Zebra", "zebra"),
    ("Giraffe", "giraffe"),
    ("Backpack", "backpack"),
    ("Umbrella", "umbrella"),
    ("Handbag", "handbag"),
    ("Tie", "tie"),
    ("Suitcase", "suitcase"),
    ("Frisbee", "frisbee"),
    ("Skis", "skis"),
    ("Snowboard", "snowboard"),
    ("Sports Ball", "sports ball"),
    ("Kite", "kite"),
    ("Baseball Bat", "baseball bat"),
    ("Baseball Glove", "baseball glove"),
    ("Skateboard", "skateboard"),
    ("Surfboard", "surfboard"),
    ("Tennis Racket", "tennis racket"),
    ("Bottle", "bottle"),
    ("Wine Glass", "wine glass"),
    ("Cup", "cup"),
    ("Fork", "fork"),
    ("Knife", "knife"),
    ("Spoon", "spoon"),
    ("Bowl", "bowl"),
    ("Banana", "banana"),
    ("Apple", "apple"),
    ("Sandwich", "sandwich"),
    ("Orange", "orange"),
    ("Broccoli", "broccoli"),
    ("Carrot", "carrot"),
    ("Hot Dog", "hot dog"),
    ("Pizza", "pizza"),
    ("Donut", "donut"),
    ("Cake", "cake"),
    ("Chair", "chair"),
    ("Couch", "couch"),
    ("Potted Plant", "potted plant"),
    ("Bed", "bed"),
    ("Dining Table", "dining table"),
    ("Toilet", "toilet"),
    ("Tv", "tv"),
    ("Laptop", "laptop"),
    ("Mouse", "mouse"),
    ("Remote", "remote"),
    ("Keyboard", "keyboard"),
    ("Cell Phone", "cell phone"),
    ("Microwave", "microwave"),
    ("Oven", "oven"),
    ("Toaster", "toaster"),
    ("Sink", "sink"),
    ("Refrigerator", "refrigerator"),
    ("Book", "book"),
    ("Clock", "clock"),
    ("Vase", "vase"),
    ("Scissors", "scissors"),
    ("Teddy Bear", "teddy bear"),
    ("Hair Drier", "hair drier"),
    ("Toothbrush", "toothbrush"),
    ("Bus", "bus"),
]
# The labels the fake model services emit (a real service's own labels, without the seed's stray
# spaces; the first ten COCO labels are the ones the fake detector picks from).
LIDAR_LABELS = [code.strip() for _, code in LIDAR_CLASSES]
COCO_LABELS = [
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
]


def seed_models(now: str) -> dict[int, dict[str, Any]]:
    """The two models every fresh Xtreme1 install has."""

    def model(
        mid: int, name: str, version: str, dtype: str, code: str, url: str, classes: list[tuple[str, str]]
    ) -> dict[str, Any]:
        return {
            "id": mid,
            "name": name,
            "version": version,
            "description": "",
            "scenario": "",
            "classes": [{"name": n, "code": c} for n, c in classes],
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
            "v0.1.2",
            "LIDAR",
            "LIDAR_DETECTION",
            "http://point-cloud-object-detection:5000/pointCloud/recognition",
            LIDAR_CLASSES,
        ),
        2: model(
            2,
            "COCO Object Detection",
            "v0.1.0",
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


def _labels(model: dict[str, Any]) -> list[str]:
    """What the model service answers with: its own labels (the seed's codes without stray spaces)."""
    if model["id"] == 1:
        return LIDAR_LABELS
    if model["id"] == 2:
        return COCO_LABELS
    return [str(c["code"]).strip() for c in model["classes"]][:10] or ["object"]


def predict(
    model: dict[str, Any], data_name: str, width: int | None = None, height: int | None = None
) -> list[dict[str, Any]]:
    """Deterministic detections ``{label, confidence, ...}`` for one data item (same name → same)."""
    seed = int.from_bytes(hashlib.sha256(f"{model['id']}:{data_name}".encode()).digest()[:8], "big")
    rnd = random.Random(seed)
    labels = _labels(model)
    objects = []
    for _ in range(rnd.randint(2, 5)):
        label = rnd.choice(labels)
        confidence = round(rnd.uniform(0.2, 0.99), 4)
        if model["datasetType"] == "LIDAR":
            objects.append(
                {
                    "label": label,
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
                    "label": label,
                    "confidence": confidence,
                    "type": "RECTANGLE",
                    "points": [
                        {"x": round(x1, 2), "y": round(y1, 2)},
                        {"x": round(x2, 2), "y": round(y2, 2)},
                    ],
                }
            )
    return objects


def filter_predictions(
    model: dict[str, Any], objects: list[dict[str, Any]], params: dict[str, Any]
) -> list[dict[str, Any]]:
    """Keep the detections the run asked for and shape them as the server stores them.

    The class filter upper-cases both sides and compares exactly: a requested ``"CONSTRUCTION_VEHICLE "``
    (the seed's code) does not match the label ``CONSTRUCTION_VEHICLE``. ``modelClass`` is the NAME of
    the model class whose code equals the label, or null (J:adapter/api/job/converter/
    ModelResultConverter.java, ModelCocoResponseConverter.java).
    """
    classes = {str(c).upper() for c in params.get("classes") or []}
    low = float(params.get("minConfidence") if params.get("minConfidence") is not None else 0)
    high = float(params.get("maxConfidence") if params.get("maxConfidence") is not None else 1)
    names = {str(c["code"]): c["name"] for c in model["classes"]}
    kept = []
    for obj in objects:
        if (classes and obj["label"].upper() not in classes) or not low <= obj["confidence"] <= high:
            continue
        shaped = {k: v for k, v in obj.items() if k != "label"}
        kept.append({"modelClass": names.get(obj["label"]), **shaped})
    return kept
