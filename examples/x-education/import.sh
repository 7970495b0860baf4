#!/usr/bin/env bash
# Load the X Education leads into the database in $LEADFUNNEL_DATABASE_URL: exactly the
# import commands of examples/x-education/README.md. Writes the dated CSVs into the
# current directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DATASETS=${DATASETS:-$here/../../../shared/datasets}
data="$DATASETS/x-education-leads"
: "${LEADFUNNEL_DATABASE_URL:?set LEADFUNNEL_DATABASE_URL, e.g. sqlite:///x-education.db}"
leadfunnel=${LEADFUNNEL:-leadfunnel}
python=${PYTHON:-python3}

$leadfunnel db upgrade
# The export has no dates: derive them from Lead Number (see add_dates.py).
$python "$here/add_dates.py" "$data/Leads.csv" .
$leadfunnel import leads x-education-leads.csv --mapping "$here/leads.toml"
$leadfunnel import stage-history x-education-conversions.csv --mapping "$here/conversions.toml"
