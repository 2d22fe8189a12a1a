from callmon.cli import main

main()
