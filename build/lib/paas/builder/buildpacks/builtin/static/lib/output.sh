# Heroku-style output: steps start with "-----> ", details are indented to line up with them.
step() { echo "-----> $*"; }
indent() { sed -u 's/^/       /'; }
warn() { echo " !     $*"; }
die() { echo " !     $*" >&2; exit 1; }
