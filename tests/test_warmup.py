from explorer.analysis.warmup import compile_kernels


def test_warmup_runs_every_kernel_path():
    compile_kernels()  # no exception on any metric, block kind or dtype


def test_umap_warmup_runs():
    from explorer.analysis.warmup import compile_umap

    compile_umap()
