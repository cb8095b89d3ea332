"""trained_model: a model directory and its model.tar.gz, trained by one cacheable action."""

def _trained_model_impl(ctx):
    model_dir = ctx.actions.declare_directory(ctx.label.name + "/model")
    tarball = ctx.actions.declare_file(ctx.label.name + "/model.tar.gz")
    args = ctx.actions.args()
    args.add("--out", tarball.dirname)
    for f in ctx.files.held_out:
        args.add("--held-out", f)
    ctx.actions.run(
        executable = ctx.executable.trainer,
        arguments = [args],
        inputs = ctx.files.held_out,
        outputs = [model_dir, tarball],
        # One thread (the trainer also sets it): deterministic weights, and the other core stays free.
        env = {
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
            "TOKENIZERS_PARALLELISM": "false",
        },
        mnemonic = "TrainModel",
        progress_message = "Training %{label} (minutes, once per cache)",
    )
    return [
        DefaultInfo(
            files = depset([model_dir, tarball]),
            runfiles = ctx.runfiles(files = [model_dir, tarball]),
        ),
        OutputGroupInfo(
            model_dir = depset([model_dir]),
            tarball = depset([tarball]),
        ),
    ]

trained_model = rule(
    implementation = _trained_model_impl,
    doc = "Runs `trainer --out <name>/ [--held-out FILE]...`, which writes <name>/model/ and <name>/model.tar.gz.",
    attrs = {
        "held_out": attr.label_list(allow_files = True, doc = "texts the trainer must never train on"),
        "trainer": attr.label(executable = True, cfg = "exec", mandatory = True),
    },
)
