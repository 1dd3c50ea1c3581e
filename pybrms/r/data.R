# Data read by R itself, exactly as an R script reads it (read.csv, readRDS, load).

# read.csv(path, ...) as an R script calls it; `args` holds read.csv's other arguments.
pybrms_read_csv <- function(path, args) do.call(utils::read.csv, c(list(file = path), args))

# The data frame saved in an .RData/.rda file: the one named `object`, or the only one there.
pybrms_load_rdata <- function(path, object = NULL) {
  env <- new.env()
  names <- load(path, envir = env)
  frames <- names[vapply(names, function(n) is.data.frame(env[[n]]), logical(1))]
  if (!is.null(object)) {
    if (!object %in% names) stop(sprintf("no object '%s' in %s; it holds: %s", object, path,
                                         paste(names, collapse = ", ")))
    return(env[[object]])
  }
  if (length(frames) != 1L) {
    stop(sprintf("%s holds %d data frames (%s): name one with object = \"...\"", path,
                 length(frames), paste(frames, collapse = ", ")))
  }
  env[[frames]]
}

# A data set shipped with an installed R package, e.g. data("epilepsy", package = "brms").
pybrms_package_data <- function(name, package) {
  env <- new.env()
  utils::data(list = name, package = package, envir = env)
  if (!exists(name, envir = env, inherits = FALSE)) {
    stop(sprintf("package '%s' has no data set '%s'", package, name))
  }
  as.data.frame(env[[name]])
}
