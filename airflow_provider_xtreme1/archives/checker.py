"""The checker that walks a tree of names (folder on disk or archive listing) and applies the upload
rules of :mod:`airflow_provider_xtreme1.archives.rules`."""

from __future__ import annotations

from airflow_provider_xtreme1.archives.content import RESULT_OBJECT_TYPES as RESULT_OBJECT_TYPES
from airflow_provider_xtreme1.archives.content import TEXT_ROLES as TEXT_ROLES
from airflow_provider_xtreme1.archives.content import ContentChecks, examples
from airflow_provider_xtreme1.archives.content import sniff_image as sniff_image
from airflow_provider_xtreme1.archives.hints import export_problem, file_home, is_os_metadata, suggest_folder
from airflow_provider_xtreme1.archives.rules import (
    _EXPECTED_LAYOUT,
    _SENSOR_LABEL,
    IMAGE_EXTS,
    IMAGE_SENSOR_RE,
    LIDAR_SENSOR_RE,
    LIDAR_TYPES,
    SAFE_NAME_RE,
    TEXT_MAX_DEPTH,
    DirNode,
    FileNode,
    Problems,
    _scene_name,
    _stray_data_files,
    base_name,
    ext_of,
    looks_like_scene,
    natural_key,
)


class LayoutChecker(ContentChecks):
    """Apply §5 to a tree.

    :param root: the extraction folder (its children are the archive's top-level entries).
    :param dataset_type: normalised dataset type.
    :param where: how messages name the source (folder path or archive path).
    :param with_results: whether ``result/`` files will be imported (``resultType`` set); their problems
        are errors then, warnings otherwise.
    :param read_content: open files (folder on disk) to check images, PCD headers and JSON.
    :param strict_names: unsafe names are errors (our own packages) rather than warnings (user archives).
    :param allow_unread: files and folders the server would not read (or would read and then lose) are
        warnings instead of errors.
    :param results_ignored: the import will not set ``resultType``, so ``result/`` files are not read.
    """

    def __init__(
        self,
        root: DirNode,
        dataset_type: str,
        problems: Problems,
        *,
        where: str,
        with_results: bool = False,
        read_content: bool = False,
        strict_names: bool = True,
        allow_unread: bool = False,
        results_ignored: bool = False,
    ):
        self.root = root
        self.results_ignored = results_ignored
        self.type = dataset_type
        self.p = problems
        self.where = where
        self.with_results = with_results
        self.read_content = read_content
        self.strict_names = strict_names
        self.allow_unread = allow_unread
        self.items = 0
        self.scenes = 0
        self._unread: list[tuple[DirNode, list[str], str]] = []
        self._os_files: list[str] = []
        self._root_names: dict[str, str] = {}
        self._scene_names: dict[str, str] = {}

    def run(self) -> tuple[int, int]:
        """Check everything; return ``(items, scenes)``."""
        self._check_names()
        if self.type == "TEXT":
            self._check_text()
        else:
            self._check_sensor_layout()
        for folder, names, hint in self._unread:
            where = f"{folder.rel}/" if folder.rel else "the top level"
            self._lost(
                "unread",
                f"{where}: the server does not read the {len(names)} file(s) here "
                f"({examples(names)}); {hint}",
            )
        if self._os_files:
            self.p.warning(
                "os files",
                f"{len(self._os_files)} operating-system file(s) are not read by the server: "
                f"{examples(self._os_files)}",
            )
        return self.items, self.scenes

    # -- what the server skips ------------------------------------------------------------------------------

    def _lost(self, category: str, message: str) -> None:
        """Data the server would silently skip or lose: an error unless the user allowed it."""
        self.p.add(not self.allow_unread, category, message)

    def _skip(self, folder: DirNode, files: list[FileNode], hint: str) -> None:
        """Record files of ``folder`` the server does not read (operating-system files aside)."""
        names = []
        for f in files:
            if is_os_metadata(f.name):
                self._os_files.append(f.rel)
            else:
                names.append(f.name)
        if names:
            self._unread.append((folder, names, hint))

    def _hint(self, node: DirNode, sensor: DirNode | None) -> str:
        """What to do about unread files in ``node`` (``sensor``: the sensor folder it lies in, if any)."""
        if sensor is not None:
            return f"folders inside {sensor.name}/ are not read: move the files up into {sensor.rel}/"
        if node is not self.root:
            good = suggest_folder(node.name, self.type)
            if good and good != node.name:
                return f"did you mean `{good}/`?"
            if good:
                return (
                    f"{node.name}/ is only read inside a folder that also holds a "
                    f"{_SENSOR_LABEL[self.type]}/ folder"
                )
        homes = sorted({h for f in node.files if (h := file_home(f.name, self.type))})
        advice = f"move them into {' / '.join(homes)}" if homes else "remove them or move them"
        return f"{advice}; {_EXPECTED_LAYOUT[self.type]}"

    # -- names -------------------------------------------------------------------------------------------

    def _check_names(self) -> None:
        for node in self.root.walk():
            named = [(d.rel + "/", d.name) for d in node.dirs] + [(f.rel, f.name) for f in node.files]
            for rel, name in named:
                if not SAFE_NAME_RE.fullmatch(name):
                    bad = sorted({c for c in name if not SAFE_NAME_RE.fullmatch(c)})
                    shown = ", ".join(repr(c) for c in bad)
                    self.p.add(
                        self.strict_names,
                        "unsafe name",
                        f"{rel}: name contains {shown}; the server URL-decodes paths, so use only "
                        "letters, digits, '.', '_' and '-' in file and folder names",
                    )

    # -- IMAGE / LiDAR -----------------------------------------------------------------------------------

    def _check_sensor_layout(self) -> None:
        primary_re = IMAGE_SENSOR_RE if self.type == "IMAGE" else LIDAR_SENSOR_RE
        parents: list[DirNode] = []
        scene_like: list[DirNode] = []
        near: list[str] = []
        # (folder, the sensor folder it lies in): the server searches every folder for data parents,
        # sensor folders included (PointCloudUploadUseCase / ImageUploadUseCase.find*ParentList).
        stack: list[tuple[DirNode, DirNode | None]] = [(self.root, None)]
        while stack:
            node, sensor = stack.pop()
            if any(primary_re.fullmatch(d.name) for d in node.dirs):
                parents.append(node)
                consumed = self._data_parent(node)
                for d in reversed(node.dirs):
                    if id(d) in consumed:
                        stack.extend((sub, d) for sub in reversed(d.dirs))
                    else:
                        stack.append((d, None))
                continue
            if node is not self.root and node.name.lower().startswith("scene_"):
                scene_like.append(node)
            if node.files:
                self._skip(node, node.files, self._hint(node, sensor))
                if _stray_data_files(node, self.type):
                    near.append(node.rel + "/" if node.rel else "the top level")
            stack.extend((d, sensor) for d in reversed(node.dirs))
        for node in scene_like:
            below = [p for p in parents if p.rel.startswith(node.rel + "/")]
            if below:
                self._lost(
                    "scene too deep",
                    f"{node.rel}/: named like a scene, but its {_SENSOR_LABEL[self.type]}/ folder lies in "
                    f"{below[0].rel}/, one level too deep: the server imports those frames as root-level "
                    f"items and creates no scene; move the contents of {below[0].rel}/ up into {node.rel}/",
                )
            else:
                self.p.warning(
                    "empty scene",
                    f"{node.rel}/: named like a scene but holds no {_SENSOR_LABEL[self.type]}/ folder, "
                    "so the server does not import it as a scene",
                )
        if not parents:
            self.p.error("no sensor folder", self._no_sensor_message(near))
        elif self.items == 0:
            self.p.error(
                "no data",
                f"no data files found in the {_SENSOR_LABEL[self.type]}/ folders under {self.where}; "
                + _EXPECTED_LAYOUT[self.type],
            )

    def _no_sensor_message(self, near: list[str]) -> str:
        message = (
            f"no `{_SENSOR_LABEL[self.type]}` folder found under {self.where}; {_EXPECTED_LAYOUT[self.type]}"
        )
        hints = []
        names = [d.name for node in self.root.walk() for d in node.dirs]
        if self.type != "IMAGE" and any(IMAGE_SENSOR_RE.fullmatch(n) for n in names):
            hints.append("found image_<digit>/ folders: is this an IMAGE dataset?")
        if self.type not in LIDAR_TYPES and any(LIDAR_SENSOR_RE.fullmatch(n) for n in names):
            hints.append("found lidar_point_cloud_<digit>/ folders: is this a LIDAR_FUSION dataset?")
        if self.type != "TEXT" and any(n.lower() == "text" for n in names):
            hints.append("found text/ folders: is this a TEXT dataset?")
        if near:
            hints.append(f"data files found in folders the server does not read: {examples(near)}")
        return message + ("" if not hints else " (" + "; ".join(hints) + ")")

    def _data_parent(self, node: DirNode) -> set[int]:
        """Check one data parent; return the ids of the child folders it consumed.

        Child folders are read by prefix, ignoring case (UploadDataUseCase ``validateFilenameByType``):
        LiDAR ``lidar_point_cloud*``, ``camera_image*``, ``camera_config``; IMAGE ``image_*``.
        """
        lidar = self.type in LIDAR_TYPES
        primary_re = LIDAR_SENSOR_RE if lidar else IMAGE_SENSOR_RE
        consumed: set[int] = set()
        names: dict[str, FileNode] = {}
        siblings: list[tuple[DirNode, dict[str, FileNode]]] = []
        result: DirNode | None = None
        configs: DirNode | None = None
        cameras = 0
        for d in node.dirs:
            low = d.name.lower()
            kind = None
            if primary_re.fullmatch(low):
                kind = "pcd" if lidar else "image"
                for base, f in self._sensor_folder(d, kind).items():
                    names.setdefault(base, f)
            elif low == "result":
                result = d
            elif lidar and low.startswith("lidar_point_cloud"):
                kind = "pcd"
                siblings.append((d, self._sensor_folder(d, "pcd")))
            elif lidar and low.startswith("camera_image"):
                kind = "camera"
                cameras += 1
                siblings.append((d, self._sensor_folder(d, "image")))
            elif lidar and low == "camera_config":
                kind = "config"
                configs = d
            elif not lidar and low.startswith("image_"):
                kind = "image"
                siblings.append((d, self._sensor_folder(d, "image")))
            elif lidar and IMAGE_SENSOR_RE.fullmatch(low):
                self._skip(
                    d,
                    d.files,
                    f"image_<digit> folders are not read in a {self.type} dataset; "
                    f"did you mean `camera_image_{low[-1]}/`?",
                )
            elif not lidar and LIDAR_SENSOR_RE.fullmatch(low):
                self.p.error(
                    "pcd in image layout",
                    f"{d.rel}/: point clouds cannot be imported into an IMAGE dataset; "
                    "use a LIDAR_FUSION or LIDAR_BASIC dataset for lidar_point_cloud_<digit>/ folders",
                )
            else:
                continue
            consumed.add(id(d))
            problem = export_problem(d.name, kind) if kind else None
            if problem:
                self._lost("lost after import", f"{d.rel}/: read by the import, but {problem}")
        if configs is not None:
            siblings.append((configs, self._sensor_folder(configs, "config", cameras=cameras)))
        if node.files:
            homes = sorted({h for f in node.files if (h := file_home(f.name, self.type))})
            self._skip(
                node,
                node.files,
                "files next to the sensor folders are not read"
                + (f"; move them into {' / '.join(homes)}" if homes else ""),
            )

        is_scene = node is not self.root and node.name.lower().startswith("scene_")
        where = node.rel + "/" if node.rel else "the top level"
        if is_scene:
            self.scenes += 1
            if node.name in self._scene_names:
                self._lost(
                    "duplicate scene",
                    f"{node.rel}/: a scene named {node.name} also comes from "
                    f"{self._scene_names[node.name]}/; the server skips the second one",
                )
            self._scene_names.setdefault(node.name, node.rel)
        else:
            if looks_like_scene(node.name):
                self.p.warning(
                    "scene name",
                    f"{node.rel}/: looks like a scene but its name does not start with `scene_`, so its "
                    f"{len(names)} frame(s) become separate root-level items; "
                    f"rename it to {_scene_name(node.name)}",
                )
            dupes = sorted((n for n in names if n in self._root_names), key=natural_key)
            if dupes:
                self._lost(
                    "duplicate data name",
                    f"{where}: data name(s) {examples(dupes)} also appear under "
                    f"{self._root_names[dupes[0]]}; the server skips duplicates with 'Duplicate data names'",
                )
            for n in names:
                self._root_names.setdefault(n, where)
        self.items += len(names)

        for folder, bases in siblings:
            extra = sorted((b for b in bases if b not in names), key=natural_key)
            if extra:
                self._lost(
                    "unmatched file",
                    f"{folder.rel}/: {len(extra)} file(s) match no {'point cloud' if lidar else 'image'} "
                    f"by base name and will be ignored: {examples([bases[b].name for b in extra])}",
                )
        if result is not None and self.results_ignored:
            self._skip(
                result,
                result.files,
                "result/ is only read when the import sets result_type (GROUND_TRUTH or MODEL_RUN)",
            )
        elif result is not None:
            results = self._sensor_folder(result, "result")
            extra = sorted((b for b in results if b not in names), key=natural_key)
            if extra:
                self.p.add(
                    self.with_results and not self.allow_unread,
                    "unmatched result",
                    f"{result.rel}/: {len(extra)} result file(s) match no data item and will be ignored: "
                    f"{examples([results[b].name for b in extra])}",
                )
        return consumed

    def _sensor_folder(self, folder: DirNode, kind: str, *, cameras: int = 0) -> dict[str, FileNode]:
        """Check one sensor/config/result folder; return its accepted files by base name."""
        is_result = kind == "result"
        severe = self.with_results or not is_result
        note = (
            ""
            if self.with_results or not is_result
            else " (result/ is only read when the import sets resultType)"
        )
        accepted: dict[str, FileNode] = {}
        for f in folder.files:
            ext = ext_of(f.name)
            problem = self._type_problem(kind, ext, folder.name)
            if is_os_metadata(f.name):
                if problem is None:  # ._0001.pcd passes the server's suffix test: it becomes an item
                    self.p.error(
                        "os file",
                        f"{f.rel}: a macOS resource-fork file; the server would import it as data item "
                        f"'{base_name(f.name)}'; delete the ._* files before archiving",
                    )
                else:
                    self._os_files.append(f.rel)
                continue
            if problem:
                self.p.add(severe, "file type", f"{f.rel}: {problem}{note}")
                continue
            base = base_name(f.name)
            if base in accepted:
                self.p.add(
                    severe,
                    "duplicate base name",
                    f"{f.rel}: has the same base name as {accepted[base].name} in {folder.name}/; "
                    f"the server skips data item '{base}' entirely{note}",
                )
                continue
            accepted[base] = f
            if f.size == 0:
                self.p.warning("zero-byte file", f"{f.rel}: file is empty (0 bytes)")
            elif self.read_content and f.path:
                self._check_content(f, kind, severe, note, cameras)
        return accepted

    @staticmethod
    def _type_problem(kind: str, ext: str, folder: str) -> str | None:
        shown = f"'.{ext}'" if ext else "(no suffix)"
        if kind == "pcd":
            if ext == "pcd":
                return None
            if ext in IMAGE_EXTS or ext == "webp":
                return (
                    f"image file in point-cloud folder {folder}/; only .pcd files belong here, "
                    "camera images go in camera_image_<n>/"
                )
            return f"unsupported file type {shown} in {folder}/; expected .pcd point clouds"
        if kind == "image":
            if ext in IMAGE_EXTS:
                return None
            if ext == "webp":
                return "WebP images are refused: the server cannot decode them; convert to .jpg or .png"
            if ext == "pcd":
                return (
                    f"point cloud in image folder {folder}/; .pcd files belong in lidar_point_cloud_<n>/ "
                    "of a LIDAR_FUSION/LIDAR_BASIC dataset"
                )
            return f"unsupported file type {shown} in {folder}/; expected .jpg, .jpeg, .png, .bmp or .tiff"
        if ext != "json":
            return f"unsupported file type {shown} in {folder}/; expected .json"
        return None

    # -- TEXT --------------------------------------------------------------------------------------------

    def _check_text(self) -> None:
        found = 0
        near: list[str] = []
        for node in self.root.walk():
            is_text = node is not self.root and node.name.lower() == "text"
            depth = node.rel.count("/") + 1 if node.rel else 0
            if is_text and depth > TEXT_MAX_DEPTH:
                self._skip(
                    node, node.files, f"text/ folders more than {TEXT_MAX_DEPTH} levels deep are not read"
                )
                continue
            if not is_text:
                if node.files:
                    parent, _, _ = node.rel.rpartition("/")
                    in_text = parent.rpartition("/")[2].lower() == "text"
                    sensor = DirNode(parent.rpartition("/")[2], parent) if in_text else None
                    self._skip(node, node.files, self._hint(node, sensor))
                    if _stray_data_files(node, self.type):
                        near.append(node.rel + "/" if node.rel else "the top level")
                continue
            found += 1
            problem = export_problem(node.name, "text")
            if problem:
                self._lost("lost after import", f"{node.rel}/: read by the import, but {problem}")
            self.items += len(self._sensor_folder_text(node))
        if not found:
            self.p.error("no sensor folder", self._no_sensor_message(near))
        elif self.items == 0:
            self.p.error("no data", f"the text/ folders under {self.where} hold no .json files")

    def _sensor_folder_text(self, folder: DirNode) -> list[FileNode]:
        accepted = []
        for f in folder.files:
            problem = self._type_problem("text", ext_of(f.name), folder.name)
            if problem:
                self.p.error("file type", f"{f.rel}: {problem}")
                continue
            accepted.append(f)
            if f.size == 0:
                self.p.warning("zero-byte file", f"{f.rel}: file is empty (0 bytes)")
            elif self.read_content and f.path:
                self._check_content(f, "text", True, "", 0)
        return accepted
