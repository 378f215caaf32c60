from redline.cli import app

app(prog_name="redline")
