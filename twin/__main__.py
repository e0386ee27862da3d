from twin.cli import main

main(prog_name="python -m twin")
