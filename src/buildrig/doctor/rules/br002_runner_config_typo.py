"""Input: a config.toml key that GitLab Runner does not know (likely a typo).

GitLab Runner ignores keys it does not know, so a misspelt setting silently does nothing:
``priviledged = true`` leaves the runner unprivileged (dind then fails with "mount: permission
denied (are you root?)"), ``volume = [...]`` shares nothing. doctor reports keys of
``[[runners]]``, ``[runners.docker]`` and ``[runners.kubernetes]`` that are one typo away from a real
one.

Fix: use the documented spelling (doctor names it) and restart the runner (``gitlab-runner
restart``), or let it reload config.toml.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping

from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.errors import Loc

ID = "BR002"
TITLE = "input: misspelt config.toml key (the runner ignores it)"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/runner/configuration/advanced-configuration/"

RUNNER_KEYS = frozenset(
    {
        "name", "url", "id", "token", "token_obtained_at", "token_expires_at", "tls-ca-file",
        "tls-cert-file", "tls-key-file", "limit", "executor", "shell", "builds_dir", "cache_dir",
        "clone_url", "environment", "request_concurrency", "output_limit", "pre_get_sources_script",
        "post_get_sources_script", "pre_build_script", "post_build_script", "pre_clone_script",
        "post_clone_script", "debug_trace_disabled", "clean_git_config", "referees",
        "unhealthy_requests_limit", "unhealthy_interval", "job_status_final_update_retry_limit",
        "tags", "run_untagged", "locked", "feature_flags", "docker", "kubernetes", "custom",
        "custom_build_dir", "cache", "ssh", "parallels", "virtualbox", "machine", "autoscaler",
        "instance", "connection_max_age", "step_runner_image", "labels", "shell_path",
    }
)  # fmt: skip
DOCKER_KEYS = frozenset(
    {
        "allowed_images", "allowed_privileged_images", "allowed_privileged_services",
        "allowed_pull_policies", "allowed_services", "allowed_users", "cache_dir", "cap_add",
        "cap_drop", "cgroup_parent", "container_labels", "cpu_shares", "cpus", "cpuset_cpus",
        "cpuset_mems", "device_cgroup_rules", "devices", "disable_cache", "disable_entrypoint_overwrite",
        "dns", "dns_search", "enable_ipv6", "extra_hosts", "gpus", "group_add", "helper_image",
        "helper_image_autoset_arch_and_os", "helper_image_flavor", "host", "hostname", "image",
        "ipcmode", "isolation", "links", "log_options", "mac_address", "memory", "memory_reservation",
        "memory_swap", "network_mode", "network_mtu", "oom_kill_disable", "oom_score_adjust",
        "privileged", "pull_policy", "runtime", "security_opt", "service_cgroup_parent",
        "service_cpu_shares", "service_cpus", "service_cpuset_cpus", "service_gpus", "service_memory",
        "service_memory_reservation", "service_memory_swap", "services", "services_devices",
        "services_limit", "services_privileged", "services_security_opt", "services_tmpfs",
        "shm_size", "sysctls", "tls_cert_path", "tls_verify", "tmpfs", "ulimit", "user", "userns_mode",
        "volume_driver", "volume_driver_ops", "volumes", "volumes_from", "wait_for_services_timeout",
    }
)  # fmt: skip
KUBE_KEYS = frozenset(
    {
        "host", "cert_file", "key_file", "ca_file", "namespace", "namespace_overwrite_allowed",
        "privileged", "allow_privilege_escalation", "image", "pull_policy", "allowed_images",
        "allowed_services", "allowed_pull_policies", "volumes", "services", "pod_annotations",
        "pod_labels", "node_selector", "node_tolerations", "service_account",
        "service_account_overwrite_allowed", "pod_security_context", "build_container_security_context",
        "helper_container_security_context", "service_container_security_context", "cpu_limit",
        "cpu_request", "memory_limit", "memory_request", "helper_cpu_limit", "helper_memory_limit",
        "service_cpu_limit", "service_memory_limit", "poll_interval", "poll_timeout",
        "image_pull_secrets", "dns_policy", "dns_config", "cap_add", "cap_drop", "host_aliases",
        "affinity", "bearer_token", "bearer_token_overwrite_allowed", "helper_image",
        "terminationGracePeriodSeconds", "pod_termination_grace_period_seconds",
        "cleanup_grace_period_seconds", "priority_class_name", "scheduler_name", "runtime_class_name",
        "ephemeral_storage_limit", "ephemeral_storage_request", "use_service_account_image_pull_secrets",
        "context", "logs_base_dir", "scripts_base_dir", "print_pod_warning_events",
    }
)  # fmt: skip


# A misspelt key may hold a credential (``tokn = "glrt-..."``): its value is shown only when
# neither its name, the name it is close to, nor the value's shape says it may be one.
_SECRET_NAME = re.compile(r"tok|secret|pass|auth|cred|key|cert|bearer|private", re.I)
_TOKEN_SHAPE = re.compile(
    r"^(gl[a-z]{2,6}-|GR1348941|ghp_|gho_|github_pat_|AKIA|xox[abp]-|npm_|dckr_pat_|sk-)"
)


def _shown(key: str, close: str, value: object) -> str:
    if isinstance(value, bool | int):
        return f"{key} = {value!r}"
    if isinstance(value, str):
        if _SECRET_NAME.search(key) or _SECRET_NAME.search(close) or _TOKEN_SHAPE.match(value.strip()):
            return f"{key} = [MASKED]"
        return f"{key} = {value!r}"
    return key


def _typos(raw: Mapping[str, object], known: frozenset[str]) -> list[tuple[str, str]]:
    out = []
    for key in raw:
        if key in known:
            continue
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.8)
        if close:
            out.append((key, close[0]))
    return out


def check(ctx: Context) -> Iterator[Issue]:
    if ctx.runner_config is None:
        return
    for r in ctx.runner_config.runners:
        sections: list[tuple[str, Mapping[str, object], Mapping[str, Loc], frozenset[str]]] = [
            ("[[runners]]", r.raw, r.key_locs, RUNNER_KEYS)
        ]
        if r.docker is not None:
            sections.append(("[runners.docker]", r.docker.raw, r.docker.key_locs, DOCKER_KEYS))
        if r.kubernetes is not None:
            sections.append(("[runners.kubernetes]", r.kubernetes.raw, r.kubernetes.key_locs, KUBE_KEYS))
        for section, raw, locs, known in sections:
            for key, close in _typos(raw, known):
                shown = _shown(key, close, raw.get(key))
                yield finding(
                    f"runner '{r.name}': {section} has '{key}', which GitLab Runner does not know and "
                    f"ignores; did you mean '{close}'? \"{shown}\" has no effect as written.",
                    f"Rename '{key}' to '{close}' and restart the runner.",
                    loc=locs.get(key, r.loc),
                )
