# Start-up for pybrms's embedded R session: packages, Boost, compiler flags.
# Sourced by pybrms/bridge.py; also usable from a plain Rscript: source("r/setup.R"); pybrms_setup()

# Every session: print warnings as they happen, so the bridge captures them with the call
# that raised them.
pybrms_setup_core <- function() {
  options(warn = 1)
  invisible(TRUE)
}

# Sessions that fit brms models: brms, rstan, Boost and the compiler flags.
pybrms_setup <- function(makevars = "") {
  pybrms_setup_core()
  suppressPackageStartupMessages({
    library(brms)
    library(rstan)
  })
  # Debian's r-cran-bh is empty: point rstan at the system Boost headers (trap 2).
  if (!nzchar(system.file("include", package = "BH"))) {
    rstan::rstan_options(boost_lib = "/usr/include")
  }
  rstan::rstan_options(auto_write = FALSE)
  if (nzchar(makevars) && !nzchar(Sys.getenv("R_MAKEVARS_USER"))) {
    Sys.setenv(R_MAKEVARS_USER = makevars)
  }
  invisible(TRUE)
}

pybrms_versions <- function() {
  v <- function(p) {
    if (nzchar(system.file(package = p))) as.character(utils::packageVersion(p)) else NA_character_
  }
  list(
    R = paste(R.version$major, R.version$minor, sep = "."),
    brms = v("brms"), rstan = v("rstan"), StanHeaders = v("StanHeaders"),
    posterior = v("posterior"), loo = v("loo"), lme4 = v("lme4"),
    lmerTest = v("lmerTest"), emmeans = v("emmeans"),
    boost = if (nzchar(system.file("include", package = "BH"))) "BH" else "/usr/include",
    makevars = Sys.getenv("R_MAKEVARS_USER")
  )
}

# R code written in Python (pybrms.R("..."), formulas): evaluated where an R script's top-level
# code runs, the global environment (brms attached), so formulas get the environment they
# would get in a script.
pybrms_eval <- function(text) eval(parse(text = text, keep.source = FALSE), envir = globalenv())

# An R call built in Python (pybrms.bf(...), save_pars(...)): the function found from the
# global environment as a script would find it, called on already-converted arguments.
pybrms_do_call <- function(fn, args) {
  do.call(get(fn, envir = globalenv(), mode = "function"), args, envir = globalenv())
}
