"""Transforms and angles, checked against vectors worked out by hand."""

from __future__ import annotations

import math

import pytest
from convert_kit import BACKWARD, FORWARD, camera

from airflow_provider_xtreme1.convert.geometry import (
    CameraConfigError,
    apply,
    euler_xyz_to_quaternion,
    invert_rigid,
    parse_camera,
    parse_camera_config,
    quaternion_to_euler_xyz,
)
from airflow_provider_xtreme1.convert.kitti import label_line, to_kitti, to_lidar
from airflow_provider_xtreme1.convert.shapes import Box3D

CAR = Box3D((10.0, 2.0, 0.8), (4.0, 2.0, 1.6), (0.0, 0.0, 0.0))


def test_kitti_label_of_a_car_ahead_worked_by_hand():
    # bottom centre (10, 2, 0) -> camera (-2, 0.2, 10); heading +x -> camera +z, so rotation_y = -pi/2;
    # alpha = -pi/2 - atan2(-2, 10) = -1.3734; corners u = 50 x / z + 32 over x in {-1, -3}, z in {8, 12}
    # gives 13.25 .. 27.83, v = 50 y / z + 24 over y in {0.2, -1.4} gives 15.25 .. 25.25.
    label = to_kitti(CAR, parse_camera(camera(FORWARD), "cam"))
    assert (
        label_line("Car", label)
        == "Car 0.00 0 -1.37 13.25 15.25 27.83 25.25 1.60 2.00 4.00 -2.00 0.20 10.00 -1.57"
    )
    assert label.alpha == pytest.approx(-math.pi / 2 + math.atan2(2, 10))


@pytest.mark.parametrize(
    ("yaw", "rotation_y"),
    [
        (0.0, -math.pi / 2),
        (math.pi / 2, -math.pi),
        (-math.pi / 2, 0.0),
        (math.pi, math.pi / 2),
        (0.35, -0.35 - math.pi / 2),
    ],
    ids=["ahead", "left", "right", "towards", "issue-208"],
)
def test_rotation_y_is_minus_yaw_minus_half_pi_with_kitti_axes(yaw, rotation_y):
    label = to_kitti(Box3D(CAR.center, CAR.size, (0, 0, yaw)), parse_camera(camera(FORWARD), "cam"))
    assert math.isclose(math.cos(label.rotation_y), math.cos(rotation_y), abs_tol=1e-9)
    assert math.isclose(math.sin(label.rotation_y), math.sin(rotation_y), abs_tol=1e-9)


def test_camera_looking_backwards_sees_an_oncoming_box_at_plus_half_pi():
    # camera z = -lidar x: a box at x = -10 heading +x comes towards the camera: rotation_y = alpha = pi/2
    label = to_kitti(
        Box3D((-10.0, 0.0, 0.8), (4.0, 2.0, 1.6), (0, 0, 0)), parse_camera(camera(BACKWARD), "cam")
    )
    assert label.location == pytest.approx((0.0, 0.2, 10.0))
    assert label.rotation_y == pytest.approx(math.pi / 2)
    assert label.alpha == pytest.approx(math.pi / 2)


def test_box_behind_the_camera_has_no_label():
    assert (
        to_kitti(Box3D((-10.0, 0.0, 0.8), (4.0, 2.0, 1.6), (0, 0, 0)), parse_camera(camera(FORWARD), "c"))
        is None
    )


@pytest.mark.parametrize("yaw", [0.0, 0.7, -2.5, 3.1])
def test_kitti_label_converts_back_to_the_lidar_box(yaw):
    cam = parse_camera(camera(FORWARD), "cam")
    box = Box3D((12.0, -1.5, 0.9), (4.2, 1.8, 1.5), (0, 0, yaw))
    label = to_kitti(box, cam)
    back = to_lidar(
        {
            "dimensions": [label.h, label.w, label.l],
            "location": list(label.location),
            "rotation_y": label.rotation_y,
        },
        [v for row in cam.lidar_to_camera[:3] for v in row],
    )
    assert back.center == pytest.approx(box.center)
    assert back.size == pytest.approx(box.size)
    assert math.cos(back.yaw - yaw) == pytest.approx(1.0)


def test_quaternion_of_a_yaw_is_a_turn_about_z():
    assert euler_xyz_to_quaternion(0, 0, 0.5) == pytest.approx((0, 0, math.sin(0.25), math.cos(0.25)))


@pytest.mark.parametrize("angles", [(0.1, -0.2, 0.3), (0.0, 0.0, -3.0), (0.4, 0.3, 2.0)])
def test_quaternion_and_euler_xyz_are_inverse(angles):
    assert quaternion_to_euler_xyz(*euler_xyz_to_quaternion(*angles)) == pytest.approx(angles)


def test_column_major_camera_external_is_transposed_like_the_front_end():
    column_major = [FORWARD[c * 4 + r] for r in range(4) for c in range(4)]
    row = parse_camera(camera(FORWARD), "row")
    assert parse_camera(camera(column_major, rowMajor=None), "auto").lidar_to_camera == row.lidar_to_camera
    assert parse_camera(camera(column_major, rowMajor=False), "flag").lidar_to_camera == row.lidar_to_camera


def test_snake_case_spelling_and_a_single_object_are_accepted():
    doc = {"camera_internal": {"fx": 1, "fy": 1, "cx": 0, "cy": 0}, "camera_external": FORWARD}
    (cam,) = parse_camera_config(doc, "one.json")
    assert cam.width is None and apply(cam.lidar_to_camera, (1.0, 0.0, 0.0)) == (0.0, 0.2, 1.0)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"cameraExternal": FORWARD}, "cameraInternal"),
        ({"cameraInternal": {"fx": 1, "fy": 1, "cx": 0, "cy": 0}, "cameraExternal": [1, 2]}, "16 numbers"),
        (
            {"cameraInternal": {"fx": "a", "fy": 1, "cx": 0, "cy": 0}, "cameraExternal": FORWARD},
            "cameraInternal.fx",
        ),
    ],
    ids=["no-intrinsics", "short-matrix", "text-focal-length"],
)
def test_bad_camera_configs_name_file_and_field(entry, message):
    with pytest.raises(CameraConfigError, match=f"cfg.json camera 0: .*{message}"):
        parse_camera_config([entry], "cfg.json")


def test_rigid_inverse_undoes_the_transform():
    cam = parse_camera(camera(BACKWARD), "cam")
    point = (1.5, -2.0, 0.3)
    assert apply(invert_rigid(cam.lidar_to_camera), apply(cam.lidar_to_camera, point)) == pytest.approx(point)
