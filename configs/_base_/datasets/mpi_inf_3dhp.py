# MPI-INF-3DHP (HumanData). Image paths start with '/', which is stripped. The official
# training keeps every 5th sample.
mpi_inf_3dhp_train = dict(
    type='HumanDataset',
    dataset_name='MPI_INF_3DHP',
    data_root='data',
    ann_file='annot/mpi_inf_3dhp_train.npz',
    data_prefix=dict(img_path='img/mpi_inf_3dhp'),
    sample_interval=5,
    strip_leading_slash=True,
)
