#!/usr/bin/env bash
# `make compose-smoke`: build the images on this machine from a local Debian base, bring the
# docker-compose stack up, run the first-run steps through its containers, tear it down.
#
#   1. dockerd (started here if none runs; stopped again at the end)
#   2. base images from Debian's packages (base-images.sh), wheels for an offline build
#      (wheelhouse.sh), then health-training:cpu from docker/Dockerfile with
#      PYTHON_IMAGE=health-training-base:bookworm OFFLINE=1, the Postgres and S3 stand-ins
#   3. `up` with docker-compose.smoke.yml; wait until Postgres, S3, MLflow and Dagster are
#      healthy (the model server is up and says, with a 503, that nothing is registered yet)
#   4. prepare-model tiny-random; generate one month; monthly_data and a 3-step
#      train_and_register launched through the daemon (each in a DockerRunLauncher container);
#      the registry lists v1; the model server answers with it; every service is healthy
#   5. `down -v` (KEEP=1 leaves the stack up)
# Not part of `make test`: it needs root, a Docker engine and ~15 GB of disk. Run from the repo root.
set -euo pipefail
cd "$(dirname "$0")/../.."
START=$(date +%s)
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0   # legacy builder: no BuildKit frontend pull
WORK=${SMOKE_WORK:-/var/tmp/health-training-smoke}
mkdir -p "$WORK"
log() { printf '\n=== [%4ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }

DOCKERD_PID=
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  dockerd >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null
fi

ENVFILE="$WORK/smoke.env"
secret() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }
API_KEY=$(secret)$(secret)   # the model server wants keys of 32+ characters
{
  for name in POSTGRES_PASSWORD DAGSTER_PG_PASSWORD MLFLOW_PG_PASSWORD FEEDBACK_PG_PASSWORD \
    MINIO_ROOT_PASSWORD HEALTH_TRAINING_S3_SECRET_KEY HEALTH_TRAINING_PSEUDONYM_KEY \
    HEALTH_TRAINING_ADMIN_KEY; do echo "$name=$(secret)"; done
  echo "MINIO_ROOT_USER=smoke-root"
  echo "HEALTH_TRAINING_S3_ACCESS_KEY=smoke-app"
  echo "HEALTH_TRAINING_API_KEYS=$API_KEY"
  echo "DOCKER_GID=$(stat -c %g /var/run/docker.sock)"
  echo "HEALTH_TRAINING_PROFILE=cpu_demo"
  # Published ports on another loopback address: a dev server may hold 127.0.0.1:8000 or :3000.
  echo "BIND_ADDRESS=${SMOKE_BIND_ADDRESS:-127.0.0.2}"
} > "$ENVFILE"
C="docker-compose --env-file $ENVFILE -p healthsmoke -f docker/docker-compose.yml -f docker/smoke/docker-compose.smoke.yml"

cleanup() {
  status=$?
  if [ "${KEEP:-0}" != 1 ]; then
    log "tearing down"
    $C down -v --remove-orphans >/dev/null 2>&1 || true
    docker ps -aq --filter label=app=health-training-run | xargs -r docker rm -f >/dev/null
  fi
  if [ -n "$DOCKERD_PID" ] && [ "${KEEP:-0}" != 1 ]; then kill "$DOCKERD_PID" && wait "$DOCKERD_PID" || true; fi
  log "compose-smoke exit $status"
}
trap cleanup EXIT

log "base images"
docker/smoke/base-images.sh "$WORK/rootfs"
log "wheelhouse"
docker/smoke/wheelhouse.sh   # incremental: only what is missing is downloaded
log "health-training:cpu"
docker build --network none -f docker/Dockerfile -t health-training:cpu \
  --build-arg PYTHON_IMAGE=health-training-base:bookworm --build-arg OFFLINE=1 .
log "stand-ins: Postgres, S3"
docker build --network none -t health-training-postgres:smoke -f docker/smoke/Dockerfile.postgres docker/smoke
docker build --network none -t health-training-s3:smoke -f docker/smoke/Dockerfile.s3 .
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep health-training

log "up"
SERVICES="postgres minio minio-init mlflow user-code dagster-webserver dagster-daemon model-server"
$C up -d --no-build $SERVICES
healthy() {  # services...
  for s in "$@"; do
    id=$($C ps -q "$s")
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null)" = healthy ] || return 1
  done
}
# The model server is healthy once it has something to serve (the registered version below); on
# an empty stack it is up and answers /health with a 503 that says what is missing.
CORE="postgres minio mlflow user-code dagster-webserver dagster-daemon"
for _ in $(seq 120); do healthy $CORE && break; sleep 5; done
$C ps
healthy $CORE || { $C logs --tail 40; exit 1; }
log "postgres, S3, mlflow, user-code, webserver, daemon healthy; the model server is up"
$C exec -T model-server python -c "import urllib.request as u
try: u.urlopen('http://localhost:8000/health', timeout=5)
except Exception as e: print('model server /health on an empty stack:', e, e.read().decode() if hasattr(e, 'read') else '')"

EXEC="$C exec -T"
log "first run: model, data"
$EXEC user-code health-training prepare-model tiny-random
$EXEC user-code health-training generate --months 2025-01:2025-01 --users 6 --seed 7

# Runs go through the queue: the daemon launches each in its own container (DockerRunLauncher).
launch() {  # job, extra args...; prints the run id
  local id
  id=$(cat /proc/sys/kernel/random/uuid)
  $EXEC dagster-webserver dagster job launch -w /opt/dagster/dagster_home/workspace.yaml \
    -l health_training --run-id "$id" -j "$@" >>"$WORK/launch.log" 2>&1 && echo "$id"
}
wait_run() {  # run id
  $EXEC dagster-webserver python - "$1" <<'PY'
import sys, time
import dagster as dg
instance = dg.DagsterInstance.get()
deadline = time.time() + 1800
while time.time() < deadline:
    run = instance.get_run_by_id(sys.argv[1])
    if run and run.is_finished:
        print(f"run {run.run_id} {run.job_name}: {run.status.value}")
        sys.exit(0 if run.status.value == "SUCCESS" else 1)
    time.sleep(5)
sys.exit("timed out")
PY
}
log "monthly_data 2025-01 (a run container)"
RUN=$(launch monthly_data --tags '{"dagster/partition": "2025-01"}')
[ -n "$RUN" ] || { cat "$WORK/launch.log"; exit 1; }
wait_run "$RUN"
docker ps -a --filter label=app=health-training-run --format '{{.Names}}\t{{.Image}}\t{{.Status}}'

log "train_and_register, 3 steps on tiny-random (a run container)"
CONFIG='{"ops": {"lora_adapter": {"config": {"base_model": "tiny-random", "max_steps": 3}}, "eval_report": {"config": {"max_examples": 6}}}}'
RUN=$(launch train_and_register --config-json "$CONFIG" --tags '{"health_training/reason": "manual"}')
[ -n "$RUN" ] || { cat "$WORK/launch.log"; exit 1; }
wait_run "$RUN"
$EXEC user-code health-training registry list

log "the model server answers"
KEY=$API_KEY
ANSWERED=0
for _ in $(seq 60); do
  if $EXEC model-server python - "$KEY" <<'PY'
import json, sys, urllib.request
body = {"model": "health-query-olmo@staging", "max_tokens": 8,
        "messages": [{"role": "user", "content": "How did I sleep last week?"}]}
req = urllib.request.Request("http://localhost:8000/v1/chat/completions", json.dumps(body).encode(),
                             {"Authorization": f"Bearer {sys.argv[1]}", "Content-Type": "application/json"})
try:
    reply = json.load(urllib.request.urlopen(req, timeout=120))
except Exception as exc:
    sys.exit(f"not yet: {exc}")
print("model server:", reply["health_training"]["model_version"], repr(reply["choices"][0]["message"]["content"]))
PY
  then ANSWERED=1; break; fi
  sleep 10
done
[ "$ANSWERED" = 1 ] || { $C logs --tail 60 model-server; exit 1; }
for _ in $(seq 60); do healthy $CORE model-server && break; sleep 5; done
$C ps
healthy $CORE model-server || exit 1
log "every service healthy"
log "compose-smoke passed in $(( $(date +%s) - START ))s"
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep health-training
