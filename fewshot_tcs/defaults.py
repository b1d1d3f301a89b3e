"""The library's defaults as data: the library's signatures and the CLI both read them here, so the same call
gives the same model from code and from the shell. Importing this module costs nothing (the CLI's ``--help``
needs it before any heavy import)."""

TEACHER = "dinov2_vits14"  # needs its weights (online, or teacher_weights=); efficientnet_lite* work offline
STUDENT = "mobilenetv2_100"
IMAGE_SIZE = "auto"  # chosen from the images and the student's pretrained size (tcs/resolution.py)
CLEAN_CROP = "auto"  # central fraction of the centred square the student sees (tcs/resolution.py)
WEIGHT_INTERPOLATION = "auto"  # share of training's change the student keeps (tcs/adaptation.py)
WHITEN = "auto"  # whitened coordinates from 5 classes of 16 labelled images under tcs-kd (tcs/classifier.py)
# the readout choices, here so that the CLI lists them without importing torch
READOUTS = ("auto", "linear", "ncm", "probe", "coord-probe", "probe+linear")
READOUT = "auto"  # the probe from 16 labelled images a class, below: coordinate probe or head (tcs/classifier.py)
DISTILLING_OBJECTIVES = ("tcs-kd", "tcs")  # those with a coordinate system (the CLI's fit offers these)
OBJECTIVES = (*DISTILLING_OBJECTIVES, "ce")
OBJECTIVE = "tcs-kd"  # the teacher's decision and its coordinates; "tcs" is the paper's objective
# lambda_mimic="auto": the coordinate mimic's weight under each objective (docs/method.md section 4).
MIMIC_WEIGHTS = {"tcs": 10.0, "tcs-kd": 0.1}
# What fewshot-tcs fit ships: "best" of the trained student and the untrained one with its probe, by held-out
# accuracy (apps/folder_fit.py), or always the "trained" one.
FIT_SHIPS = ("best", "trained")
FIT_SHIP = "best"
STEPS = 120
TEACHER_VIEWS = 4

BENCH_METHODS = ("protonet", "logistic", "tcs-probe")
N_WAY = 5
SHOTS = (1, 5)
N_QUERY = 15
N_EPISODES = 600
