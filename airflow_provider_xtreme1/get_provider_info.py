"""Provider registration: the target of the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_xtreme1 import __version__


def get_provider_info() -> dict[str, Any]:
    """Describe the provider to Airflow without importing any hook, operator or trigger."""
    return {
        "package-name": "airflow-provider-xtreme1",
        "name": "Xtreme1",
        "description": "Drive [Xtreme1](https://xtreme1.io/) from Airflow: upload and import datasets, "
        "export annotations and run models.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Xtreme1",
                "external-doc-url": "https://github.com/xtreme1-io/xtreme1",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {"integration-name": "Xtreme1", "python-modules": ["airflow_provider_xtreme1.hooks.xtreme1"]}
        ],
        "operators": [
            {
                "integration-name": "Xtreme1",
                "python-modules": [
                    "airflow_provider_xtreme1.operators.datasets",
                    "airflow_provider_xtreme1.operators.upload",
                    "airflow_provider_xtreme1.operators.imports",
                    "airflow_provider_xtreme1.operators.export",
                    "airflow_provider_xtreme1.operators.predictions",
                    "airflow_provider_xtreme1.operators.models",
                    "airflow_provider_xtreme1.operators.convert",
                    "airflow_provider_xtreme1.operators.annotation",
                    "airflow_provider_xtreme1.operators.ontology",
                    "airflow_provider_xtreme1.operators.data",
                    "airflow_provider_xtreme1.operators.shards",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Xtreme1",
                "python-modules": [
                    "airflow_provider_xtreme1.sensors.xtreme1",
                    "airflow_provider_xtreme1.sensors.annotation",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "Xtreme1",
                "python-modules": [
                    "airflow_provider_xtreme1.triggers.xtreme1",
                    "airflow_provider_xtreme1.triggers.annotation",
                ],
            }
        ],
        "extra-links": [
            "airflow_provider_xtreme1.links.Xtreme1DatasetLink",
            "airflow_provider_xtreme1.links.Xtreme1ModelRunsLink",
        ],
        "connection-types": [
            {
                "connection-type": "xtreme1",
                "hook-class-name": "airflow_provider_xtreme1.hooks.xtreme1.Xtreme1Hook",
                "hook-name": "Xtreme1",
                "ui-field-behaviour": {
                    "hidden-fields": ["login", "extra"],
                    # The port has its own field: Airflow 3.3's "Test" button sends the stored port as a
                    # number (0 when empty), and the API refuses a test whose port differs from the stored
                    # one. With the port in this field rather than in the URL, Test works at once.
                    "relabeling": {"host": "Xtreme1 URL", "password": "API token"},
                    "placeholders": {
                        "host": "http://xtreme1.example.com (scheme and host; the port goes below)",
                        "password": "token from the API token page of the Xtreme1 web app",
                        "schema": "http or https (only when Host holds no scheme)",
                        "port": "8190 (the nginx port of a docker-compose deployment)",
                    },
                },
                "conn-fields": {
                    "verify": {
                        "label": "Verify TLS certificates",
                        "description": "Check the server's certificate on https URLs (recommended).",
                        "schema": {"type": "boolean", "default": True},
                    },
                    "ca_bundle": {
                        "label": "CA bundle path",
                        "description": "PEM file of CA certificates to trust instead of the system ones.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "request_timeout": {
                        "label": "Request timeout (seconds)",
                        "description": "Read timeout for API calls; transfers of archives have their own.",
                        "schema": {"type": ["number", "null"], "minimum": 1, "default": 60},
                    },
                    "web_url": {
                        "label": "Web UI URL",
                        "description": "Base URL of the Xtreme1 web app for links, if not the API URL.",
                        "schema": {"type": ["string", "null"]},
                    },
                },
            }
        ],
    }
