"""The one label vocabulary: CamVid's 11 street classes plus void, their ids, names and display colours.

Every label map in streetgen (world renders, CamVid, layouts, segmenters, SPADE inputs) uses these ids.
"""
from __future__ import annotations

import numpy as np

SKY, BUILDING, POLE, ROAD, PAVEMENT, TREE, SIGN, FENCE, CAR, PEDESTRIAN, BICYCLIST, VOID = range(12)
CLASS_NAMES = ("Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian",
               "Bicyclist", "Void")
NUM_CLASSES = 11  # the CamVid classes a model predicts; void (11) is not one of them
NUM_IDS = len(CLASS_NAMES)  # 12: the classes and void, the values a label map may hold
IGNORE = VOID  # segmentation losses and scores ignore void pixels
# The SegNet/CamVid display colours (void black), so world label maps and CamVid's look the same.
PALETTE = np.array([(128, 128, 128), (128, 0, 0), (192, 192, 128), (128, 64, 128), (60, 40, 222), (128, 128, 0),
                    (192, 128, 128), (64, 64, 128), (64, 0, 128), (64, 64, 0), (0, 128, 192), (0, 0, 0)], np.uint8)


def colorize_labels(labels: np.ndarray) -> np.ndarray:
    """Label ids → CamVid display colours (ids above 11 show as void)."""
    return PALETTE[np.minimum(np.asarray(labels), VOID)]
