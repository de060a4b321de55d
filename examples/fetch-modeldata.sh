#!/usr/bin/env bash
# Fetches three more benchmark datasets of docs/quality.md from Debian's r-cran-modeldata package
# (the data sets of R's 'modeldata', version 1.1.0 in Debian 12) and writes them as CSV under
# examples/data/ (git-ignored), each with a 0/1 'label' column (1: the minority class):
#   lending_club.csv  Lending Club loans, 9 857 rows, label = Class 'bad' (5 %)
#   wa_churn.csv      IBM Watson telco customers, 7 043 rows, label = churn 'Yes' (27 %); the 11
#                     missing total_charges (customers of tenure 0) become 0
#   mlc_churn.csv     MLC++ telco churn, 5 000 rows, label = churn 'yes' (14 %)
# Needs Debian's packages (apt-get, as root or through sudo) for R and the data; run once.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p data
if [ -f data/lending_club.csv ] && [ -f data/wa_churn.csv ] && [ -f data/mlc_churn.csv ]; then
  echo "examples/data/{lending_club,wa_churn,mlc_churn}.csv are already here"
  exit 0
fi
if ! Rscript -e 'stopifnot(requireNamespace("modeldata", quietly = TRUE))' >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    r-cran-modeldata >/dev/null
fi
Rscript - <<'R'
load <- function(name) {
  e <- new.env()
  data(list = name, package = "modeldata", envir = e)
  as.data.frame(get(name, e))
}
write <- function(d, file) {
  write.csv(d, file.path("data", file), row.names = FALSE, na = "")
  cat(sprintf("wrote examples/data/%s: %d rows, %d columns, %.1f %% positive\n", file, nrow(d),
              ncol(d), 100 * mean(d$label)))
}
lc <- load("lending_club")
lc$label <- as.integer(lc$Class == "bad")
lc$Class <- NULL
write(lc, "lending_club.csv")
wa <- load("wa_churn")
wa$label <- as.integer(wa$churn == "Yes")
wa$churn <- NULL
wa$total_charges[is.na(wa$total_charges)] <- 0
write(wa, "wa_churn.csv")
mlc <- load("mlc_churn")
mlc$label <- as.integer(mlc$churn == "yes")
mlc$churn <- NULL
write(mlc, "mlc_churn.csv")
R
