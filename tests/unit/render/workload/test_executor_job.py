"""The executor Jobs: what they run, who they run as, what they can read, and that they carry no secret."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openbao_operator.api import names, parse_cluster
from openbao_operator.api.executor import CONFIG_ENV, ExecutorConfig
from openbao_operator.api.restore import OpenBaoRestore
from openbao_operator.render.workload.executor_job import (
    CA_FILE,
    JWT_FILE,
    ExecutorRenderError,
    backup_job,
    executor_service_account,
    restore_job,
)

from .cases import NAMESPACE, OWNER_UID, facts, manifest
from .pss import restricted_violations

IMAGE = "ghcr.io/example/openbao-operator:1.0.0"
TARGET = {
    "provider": "s3",
    "endpoint": "https://minio.storage.svc:9000",
    "bucket": "snaps",
    "usePathStyle": True,
    "credentialsSecretRef": {"name": "s3-creds"},
}
OIDC = {"enabled": True, "oidc": {"enabled": True}}


def cluster(**spec: Any) -> Any:
    return parse_cluster(manifest(name="prod", **spec))


def config_of(job: dict[str, Any]) -> ExecutorConfig:
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    return ExecutorConfig.model_validate(json.loads(env[CONFIG_ENV]["value"]))


def test_a_backup_job_runs_the_operator_image_as_its_own_service_account_with_a_projected_token() -> None:
    c = cluster(selfInit=OIDC, backup={"schedule": "0 3 * * *", "target": TARGET, "retention": {"maxCount": 7}})
    job = backup_job(c, facts(), job_name="prod-backup-0123456789", operator_image=IMAGE)
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    assert job["metadata"]["namespace"] == NAMESPACE
    assert job["metadata"]["ownerReferences"][0]["uid"] == OWNER_UID
    assert job["metadata"]["labels"][names.LABEL_OPENBAO_COMPONENT] == "backup"
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["ttlSecondsAfterFinished"]) == (0, 86400)
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == IMAGE
    assert container["command"] == ["openbao-operator", "backup"]
    assert container["args"] == []
    assert pod["serviceAccountName"] == "prod-backup-serviceaccount"
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never"
    assert restricted_violations(pod) == []
    assert pod["securityContext"]["runAsUser"] == 65532
    jwt = next(v for v in pod["volumes"] if v["name"] == "openbao-jwt")
    source = jwt["projected"]["sources"][0]["serviceAccountToken"]
    assert source == {"path": "token", "audience": "openbao-internal", "expirationSeconds": 600}
    config = config_of(job)
    assert config.auth.method == "jwt"
    assert config.auth.role == "openbao-operator-backup"
    assert config.auth.jwt_file == JWT_FILE
    assert config.openbao.address == f"https://prod.{NAMESPACE}.svc:8200"
    assert config.openbao.ca_file == CA_FILE
    assert config.retention is not None
    assert config.retention.max_count == 7
    assert config.credentials_dir is not None
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert all(m.get("readOnly") for p, m in mounts.items() if p != "/tmp")
    assert str(JWT_FILE).rsplit("/", 1)[0] in mounts
    assert config.credentials_dir in mounts


def test_the_pods_are_not_selected_by_the_clusters_services() -> None:
    c = cluster(selfInit=OIDC, backup={"schedule": "0 3 * * *", "target": TARGET})
    labels = backup_job(c, facts(), job_name="j", operator_image=IMAGE)["spec"]["template"]["metadata"]["labels"]
    selector = names.infra_labels(c)
    assert not all(labels.get(k) == v for k, v in selector.items())
    assert labels[names.LABEL_CLUSTER] == "prod"
    assert labels[names.LABEL_OPENBAO_COMPONENT] == "backup"


def test_no_secret_in_the_environment_only_files_and_only_the_ca_of_the_tls_secret() -> None:
    c = cluster(selfInit=OIDC, backup={"schedule": "0 3 * * *", "target": TARGET, "tokenSecretRef": {"name": "t"}})
    job = backup_job(c, facts(), job_name="j", operator_image=IMAGE)
    pod = job["spec"]["template"]["spec"]
    env = pod["containers"][0]["env"]
    assert all("valueFrom" not in e for e in env)
    assert {e["name"] for e in env} == {CONFIG_ENV, "OPENBAO_EXECUTOR_REPORT_FILE"}
    ca = next(v for v in pod["volumes"] if v["name"] == "openbao-ca")
    assert ca["secret"]["secretName"] == "prod-tls-server"
    assert ca["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
    creds = next(v for v in pod["volumes"] if v["name"] == "storage-credentials")
    assert creds["secret"] == {"secretName": "s3-creds", "defaultMode": 0o440}


def test_without_oidc_a_token_secret_is_mounted_and_without_either_the_field_is_named() -> None:
    c = cluster(backup={"schedule": "0 3 * * *", "target": TARGET, "tokenSecretRef": {"name": "bao-token"}})
    job = backup_job(c, facts(), job_name="j", operator_image=IMAGE)
    config = config_of(job)
    assert config.auth.method == "token"
    assert config.auth.token_file is not None
    vol = next(v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "openbao-token")
    assert vol["secret"]["secretName"] == "bao-token"
    with pytest.raises(ExecutorRenderError) as err:
        backup_job(
            cluster(backup={"schedule": "0 3 * * *", "target": TARGET}), facts(), job_name="j", operator_image=IMAGE
        )
    assert err.value.field == "spec.backup.jwtAuthRole"
    assert "prod-backup-serviceaccount" in str(err.value)


def test_an_explicit_role_and_audience_and_web_identity() -> None:
    target = {"provider": "s3", "bucket": "snaps", "roleArn": "arn:aws:iam::1:role/backup"}
    c = cluster(
        selfInit={"enabled": True, "oidc": {"enabled": True, "audience": "bao"}},
        backup={"schedule": "0 3 * * *", "target": target, "jwtAuthRole": "mine", "image": "mine:1"},
    )
    job = backup_job(c, facts(), job_name="j", operator_image=IMAGE)
    pod = job["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "mine:1"
    config = config_of(job)
    assert config.auth.role == "mine"
    assert config.web_identity_token_file is not None
    audiences = {
        v["name"]: v["projected"]["sources"][0]["serviceAccountToken"]["audience"]
        for v in pod["volumes"]
        if "projected" in v
    }
    assert audiences == {"openbao-jwt": "bao", "aws-web-identity": "sts.amazonaws.com"}


def test_tls_off_uses_http_and_mounts_no_ca() -> None:
    c = cluster(tls={"enabled": False}, selfInit=OIDC, backup={"schedule": "0 3 * * *", "target": TARGET})
    job = backup_job(c, facts(), job_name="j", operator_image=IMAGE)
    config = config_of(job)
    assert config.openbao.address.startswith("http://")
    assert config.openbao.ca_file is None
    assert all(v["name"] != "openbao-ca" for v in job["spec"]["template"]["spec"]["volumes"])


def test_a_restore_job_is_owned_by_the_restore_and_passes_key_and_force() -> None:
    c = cluster(selfInit=OIDC)
    restore = OpenBaoRestore.model_validate(
        {
            "apiVersion": "openbao.org/v1alpha1",
            "kind": "OpenBaoRestore",
            "metadata": {"name": "r1", "namespace": NAMESPACE},
            "spec": {"cluster": "prod", "force": True, "source": {"target": TARGET, "key": "vault/prod/x.snap"}},
        }
    )
    job = restore_job(c, facts(), restore, restore_uid="ruid", job_name="prod-restore-0123456789", operator_image=IMAGE)
    owner = job["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("OpenBaoRestore", "r1", "ruid")
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["openbao-operator", "restore"]
    assert container["args"] == ["--key", "vault/prod/x.snap", "--force"]
    assert pod["serviceAccountName"] == "prod-restore-serviceaccount"
    assert config_of(job).auth.role == "openbao-operator-restore"
    assert restricted_violations(pod) == []


def test_the_service_account_automounts_nothing_and_is_owned_by_the_cluster() -> None:
    sa = executor_service_account(cluster(), facts(), "backup")
    assert sa["metadata"]["name"] == "prod-backup-serviceaccount"
    assert sa["automountServiceAccountToken"] is False
    assert sa["metadata"]["ownerReferences"][0]["uid"] == OWNER_UID


def test_job_names_fit_a_label_value_and_are_stable() -> None:
    long = "a" * 52
    name = names.executor_job_name(long, "backup", key="uid/schedule/2026-12-03T03:00:00Z")
    assert len(name) <= 63
    assert name.startswith("a" * 40)
    assert "-backup-" in name
    assert name == names.executor_job_name(long, "backup", key="uid/schedule/2026-12-03T03:00:00Z")
    assert name != names.executor_job_name(long, "backup", key="uid/schedule/2026-12-04T03:00:00Z")
