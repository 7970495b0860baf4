#!/usr/bin/env bash
# Load the Olist marketing funnel into the database in $LEADFUNNEL_DATABASE_URL:
# exactly the commands of examples/olist/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DATASETS=${DATASETS:-$here/../../../shared/datasets}
data="$DATASETS/olist-marketing-funnel"
: "${LEADFUNNEL_DATABASE_URL:?set LEADFUNNEL_DATABASE_URL, e.g. sqlite:///olist.db}"
leadfunnel=${LEADFUNNEL:-leadfunnel}

$leadfunnel db upgrade
$leadfunnel import leads "$data/olist_marketing_qualified_leads_dataset.csv" --mapping "$here/mqls.toml"
$leadfunnel import leads "$data/olist_closed_deals_dataset.csv" --mapping "$here/deals-profile.toml"
$leadfunnel import stage-history "$data/olist_closed_deals_dataset.csv" --mapping "$here/deals-won.toml"
$leadfunnel kpi --by channel
