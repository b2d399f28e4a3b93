"""Federal partner formats: the FPLS / Federal Case Registry (``fcr``) and the federal offset program
(``offset``), shared/specs/agency-formats.md §4-§5."""
