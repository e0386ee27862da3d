from twin.runtime.cli import main

main(prog_name="python -m twin")
