#!/usr/bin/env bash
# Registry auth for `bundler lock` and `bundler build`: HTTP basic (htpasswd) with credentials from a
# Docker config.json in the base64 `auth` form, and from --registry-auth HOST=USER:PASSWORD_FILE; the
# bearer flow (a token server issuing RS256 JWTs) with credentials and anonymously, one token per scope;
# a wrong password fails naming the registry and the HTTP status and never prints the password; a
# redirect to another host (blob storage) does not carry the Authorization header.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_images.sh"

images_fixture
images_start_registry basic
images_start_registry token
printf '%s\n' "$REG_PASSWORD" >"$SCRATCH/password"
printf 'not-the-password\n' >"$SCRATCH/wrong"
export DOCKER_CONFIG="$SCRATCH/no-docker-config" # never this machine's own credentials

# lock_build NAME REGISTRY ARGS...: a fresh lock and build of images-test through REGISTRY (as docker.io),
# with its own cache; the lock must equal the anonymous one.
lock_build() {
    local name=$1 reg=$2; shift 2
    local w="$SCRATCH/w-$name"
    rm -rf "$w"; cp -r "$W" "$w"; rm -f "$w/images.lock"
    "$BUNDLER" lock --profile images-test --workdir "$w" --cache "$SCRATCH/cache-$name" --mirror "docker.io=http://$reg" "$@" \
        >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "$name: bundler lock failed"; }
    "$BUNDLER" build --profile images-test --workdir "$w" --cache "$SCRATCH/cache-$name" --mirror "docker.io=http://$reg" \
        --installer "$INSTALLER" --output "$SCRATCH/$name.run" "$@" >>"$SCRATCH/out" 2>&1 ||
        { cat "$SCRATCH/out" >&2; die "$name: bundler build failed"; }
    cmp -s "$w/images.lock" "$SCRATCH/anon.lock" || die "$name: images.lock differs from the anonymous registry's"
    ! grep -q "$REG_PASSWORD" "$SCRATCH/out" || die "$name: the password appears in the bundler's output"
}

# Anonymous, for reference.
cp -r "$W" "$SCRATCH/w-anon"
"$BUNDLER" lock --profile images-test --workdir "$SCRATCH/w-anon" --cache "$SCRATCH/cache-anon" --mirror "docker.io=http://$REG_ANON" >/dev/null
cp "$SCRATCH/w-anon/images.lock" "$SCRATCH/anon.lock"

# Basic auth without credentials: refused, saying how to give them.
expect_fail "basic auth without credentials" "$BUNDLER" lock --profile images-test --workdir "$SCRATCH/w-anon" \
    --cache "$SCRATCH/cache-x" --mirror "docker.io=http://$REG_BASIC" --update
expect_output "registry docker.io \(via http://$REG_BASIC\) requires credentials \(HTTP 401 Unauthorized\)"
expect_output "--registry-auth $REG_BASIC=USER:PASSWORD_FILE"

# Basic auth, credentials from a Docker config.json (`auth`: base64 of user:password).
mkdir -p "$SCRATCH/docker"
printf '{"auths": {"http://%s": {"auth": "%s"}}}\n' "$REG_BASIC" "$(printf '%s:%s' "$REG_USER" "$REG_PASSWORD" | base64 -w0)" \
    >"$SCRATCH/docker/config.json"
DOCKER_CONFIG="$SCRATCH/docker" lock_build basic-config "$REG_BASIC"
# Basic auth, credentials from --registry-auth.
lock_build basic-flag "$REG_BASIC" --registry-auth "$REG_BASIC=$REG_USER:$SCRATCH/password"
cmp -s "$SCRATCH/basic-config.run" "$SCRATCH/basic-flag.run" || die "the same pins through two auth paths built different bundles"

# A wrong password: named registry and status, exit 1, no password in the message.
expect_fail "basic auth with a wrong password" "$BUNDLER" lock --profile images-test --workdir "$SCRATCH/w-anon" --update \
    --cache "$SCRATCH/cache-x" --mirror "docker.io=http://$REG_BASIC" --registry-auth "$REG_BASIC=$REG_USER:$SCRATCH/wrong"
expect_output "registry docker.io \(via http://$REG_BASIC\): authentication failed as user $REG_USER .*HTTP 401 Unauthorized"
! grep -q "not-the-password" "$SCRATCH/out" || die "the wrong password appears in the error"

# Bearer tokens with credentials: one token per repository scope (plus the login check), reused.
lock_build bearer "$REG_TOKEN" --registry-auth "$REG_TOKEN=$REG_USER:$SCRATCH/password"
grep -q "token user=$REG_USER scope=repository:library/busybox:pull" "$TOKEN_LOG" || die "no token for busybox's scope: $(cat "$TOKEN_LOG")"
for scope in library/busybox pitest/app-a pitest/app-b; do
    n=$(grep -c "scope=repository:$scope:pull$" "$TOKEN_LOG" || true)
    [ "$n" -le 2 ] || die "$n tokens for scope $scope in one lock and one build: a token is not reused: $(cat "$TOKEN_LOG")"
done
# Bearer tokens anonymously (the token server grants anonymous pulls).
: >"$TOKEN_LOG"
lock_build bearer-anon "$REG_TOKEN"
grep -q "token user=- scope=repository:pitest/app-a:pull" "$TOKEN_LOG" || die "no anonymous token was asked for: $(cat "$TOKEN_LOG")"
# Bearer with a wrong password: the token server's 401 is named.
expect_fail "bearer auth with a wrong password" "$BUNDLER" lock --profile images-test --workdir "$SCRATCH/w-anon" --update \
    --cache "$SCRATCH/cache-x" --mirror "docker.io=http://$REG_TOKEN" --registry-auth "$REG_TOKEN=$REG_USER:$SCRATCH/wrong"
expect_output "registry docker.io \(via http://$REG_TOKEN\): authentication failed as user $REG_USER .*token server http://127.0.0.1:$TOKEN_PORT/token answered HTTP 401 Unauthorized"

# A blob redirected to another host (localhost instead of 127.0.0.1, as blob storage would be) gets no
# Authorization; the registry itself still does.
images_start_proxy "$REG_BASIC" redirect
lock_build redirect "$PROXY" --registry-auth "$PROXY=$REG_USER:$SCRATCH/password"
grep -q "fault=redirected" "$PROXY_LOG" || die "the proxy redirected nothing: $(cat "$PROXY_LOG")"
! grep "fault=redirected" "$PROXY_LOG" | grep -q "auth=yes" || die "a redirect to another host carried the Authorization header: $(grep redirected "$PROXY_LOG")"
grep "fault=redirect$" "$PROXY_LOG" | grep -q "auth=yes" || die "blob requests to the registry itself carried no Authorization"
echo "images_auth: ok"
