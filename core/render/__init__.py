"""The render pipeline: preflight -> execute (sandbox) -> postflight.

    pipeline.py    render(request, settings=..., runner=...) -> RenderOutcome
    preflight.py   AST checks, the one scene, prompt and size limits
    harness.py     runs inside the sandbox (stdlib + manim only)
    diagnosis.py   sandbox result + harness events -> one framecast error
    postflight.py  ffprobe checks, upload-limit re-encode
    watermark.py   the trial watermark: burn in, verify from the pixels
    record.py      the Markdown job record

Import the submodule you need; this package stays empty so that importing
``core.render.preflight`` does not pull in the sandbox or numpy.
"""
