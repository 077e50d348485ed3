from vvtv.cli import main

main()
