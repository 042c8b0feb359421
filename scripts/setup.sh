# Sourced by scripts/demo.sh and scripts/test.sh (the README's two commands): the pinned uv and the locked
# Python dependencies. One copy, so the uv pin cannot differ between the two commands.
UV_VERSION=0.13.9
if ! command -v uv >/dev/null 2>&1 || [ "$(uv --version | awk '{print $2}')" != "$UV_VERSION" ]; then
  echo "== installing uv $UV_VERSION"
  python3 -m pip install --quiet "uv==$UV_VERSION"
fi

echo "== uv sync (locked dependencies)"
uv sync --frozen --quiet
