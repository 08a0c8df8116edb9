from hyperamy.cli import main

main()
