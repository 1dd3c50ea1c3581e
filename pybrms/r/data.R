# Data read by R itself, exactly as an R script reads it (read.csv, readRDS, load).
