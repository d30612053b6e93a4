"""The doctor rules' kit: what rules derive from a job, its runners and its daemon, split by topic.

``jobviews`` (each job on each runner, jobs by way, places, variables), ``runners`` (volumes, the
Docker socket, privilege, sharing), ``daemon`` (DOCKER_HOST, TLS, Docker API versions),
``images`` (dind services, kaniko/buildah/BuildKit images), ``scripts`` (docker command lines,
shell words), ``builders`` (kaniko, buildah and BuildKit commands in a job). Rules import the
names from here (``from buildrig.doctor import kit as u``) or from the topic module. Everything is
pure: it reads the models it is given.
"""

from __future__ import annotations

# What GitLab Runner and the well-known images do is decided once, in facts.py, for the engine and
# every rule; these names are re-exported for the rules.
from buildrig.doctor.facts import DOCKER_EXECUTORS as DOCKER_EXECUTORS
from buildrig.doctor.facts import Line as Line
from buildrig.doctor.facts import honors_entrypoint as honors_entrypoint
from buildrig.doctor.facts import image_name as image_name
from buildrig.doctor.facts import is_dind_service as is_dind_service
from buildrig.doctor.facts import is_docker_executor as is_docker_executor
from buildrig.doctor.facts import is_docker_image as is_docker_image
from buildrig.doctor.facts import is_kubernetes as is_kubernetes
from buildrig.doctor.facts import is_shell as is_shell
from buildrig.doctor.facts import is_shell_executor as is_shell_executor
from buildrig.doctor.facts import parse_image as parse_image
from buildrig.doctor.facts import script_lines as script_lines
from buildrig.doctor.kit.builders import buildah_lines as buildah_lines
from buildrig.doctor.kit.builders import daemonless_buildkit_lines as daemonless_buildkit_lines
from buildrig.doctor.kit.builders import is_buildah_job as is_buildah_job
from buildrig.doctor.kit.builders import is_kaniko_job as is_kaniko_job
from buildrig.doctor.kit.builders import is_rootless_buildkit_job as is_rootless_buildkit_job
from buildrig.doctor.kit.builders import kaniko_commands as kaniko_commands
from buildrig.doctor.kit.daemon import api_of_release as api_of_release
from buildrig.doctor.kit.daemon import api_tuple as api_tuple
from buildrig.doctor.kit.daemon import docker_release_of_tag as docker_release_of_tag
from buildrig.doctor.kit.daemon import endpoint as endpoint
from buildrig.doctor.kit.daemon import refused_client as refused_client
from buildrig.doctor.kit.daemon import tls_on as tls_on
from buildrig.doctor.kit.images import dind_services as dind_services
from buildrig.doctor.kit.images import expand as expand
from buildrig.doctor.kit.images import is_buildah_image as is_buildah_image
from buildrig.doctor.kit.images import is_buildkit_image as is_buildkit_image
from buildrig.doctor.kit.images import is_kaniko_image as is_kaniko_image
from buildrig.doctor.kit.images import is_rootless_buildkit_image as is_rootless_buildkit_image
from buildrig.doctor.kit.images import job_image as job_image
from buildrig.doctor.kit.images import kaniko_infers_gitlab_registry as kaniko_infers_gitlab_registry
from buildrig.doctor.kit.images import kaniko_version as kaniko_version
from buildrig.doctor.kit.images import known_kaniko_repo as known_kaniko_repo
from buildrig.doctor.kit.jobviews import RunnerView as RunnerView
from buildrig.doctor.kit.jobviews import env_value as env_value
from buildrig.doctor.kit.jobviews import explicit_env as explicit_env
from buildrig.doctor.kit.jobviews import image_loc as image_loc
from buildrig.doctor.kit.jobviews import jname as jname
from buildrig.doctor.kit.jobviews import job_loc as job_loc
from buildrig.doctor.kit.jobviews import jobs as jobs
from buildrig.doctor.kit.jobviews import key_loc as key_loc
from buildrig.doctor.kit.jobviews import label as label
from buildrig.doctor.kit.jobviews import origin as origin
from buildrig.doctor.kit.jobviews import per_runner as per_runner
from buildrig.doctor.kit.jobviews import runner_env as runner_env
from buildrig.doctor.kit.jobviews import runner_names as runner_names
from buildrig.doctor.kit.jobviews import severity_for as severity_for
from buildrig.doctor.kit.jobviews import severity_over as severity_over
from buildrig.doctor.kit.jobviews import svc_env as svc_env
from buildrig.doctor.kit.jobviews import var_loc as var_loc
from buildrig.doctor.kit.runners import SOCKET_DIRS as SOCKET_DIRS
from buildrig.doctor.kit.runners import SOCKET_PATHS as SOCKET_PATHS
from buildrig.doctor.kit.runners import Mount as Mount
from buildrig.doctor.kit.runners import docker_loc as docker_loc
from buildrig.doctor.kit.runners import docker_mounts as docker_mounts
from buildrig.doctor.kit.runners import is_shared as is_shared
from buildrig.doctor.kit.runners import kube_loc as kube_loc
from buildrig.doctor.kit.runners import kube_socket_volume as kube_socket_volume
from buildrig.doctor.kit.runners import mounts_socket as mounts_socket
from buildrig.doctor.kit.runners import rname as rname
from buildrig.doctor.kit.runners import runner_loc as runner_loc
from buildrig.doctor.kit.runners import runner_privileged as runner_privileged
from buildrig.doctor.kit.runners import security_opts as security_opts
from buildrig.doctor.kit.runners import socket_mount as socket_mount
from buildrig.doctor.kit.scripts import daemon_docker_lines as daemon_docker_lines
from buildrig.doctor.kit.scripts import docker_command_lines as docker_command_lines
from buildrig.doctor.kit.scripts import installs_docker as installs_docker
from buildrig.doctor.kit.scripts import option_values as option_values
from buildrig.doctor.kit.scripts import script_sets_docker_host as script_sets_docker_host
from buildrig.doctor.kit.scripts import split_words as split_words
