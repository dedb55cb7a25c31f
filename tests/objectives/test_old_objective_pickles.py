"""Objectives pickled by filippov 0.1.0, before ``filippov.objectives`` became a package, load.

Those pickles name module-level objects of the old layout: ``filippov.objectives._rebuild``
(a library objective is pickled as its recipe), ``filippov.objectives.Objective`` and its
constructors, the library functions, ``filippov.objectives.DerivativeCheck``, the network's
loss class ``filippov._mlp._MLP``, and bound methods of ``Objective`` by name
(``_fd_hess``, ``_fd_hvp``, ``_hess_from_hvp``, ``_hvp_from_hess``) with its attributes for
objectives of user callables. The bytes below were made by the code of commit eb0328a
(``/work/main`` before the split), with this script::

    import base64, pickle, warnings, zlib
    import numpy as np
    from filippov import objectives as ol
    from filippov.objectives import Objective

    rng = np.random.default_rng(7)
    A = np.round(rng.standard_normal((6, 3)), 3)
    y = np.array([1, -1, 1, 1, -1, -1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the finite-difference Hessian warns
        objs = {
            "quadratic": Objective.quadratic([[2.0, 0.5], [0.5, 1.0]], [1.0, -1.0], 0.5),
            "from_expr": Objective.from_expr(
                "0.5*(x0 - a*x1)**2 + cosh(x1 - x2) + x2**2", ["x0", "x1", "x2"], {"a": 0.3}
            ),
            "separable_quadratic": ol.separable_quadratic([1.0, 4.0], [0.5, -0.5]),
            "rotated_quadratic": ol.rotated_quadratic([1.0, 10.0, 100.0], rotation=0.5, seed=3),
            "ridge_logistic": ol.ridge_logistic(A, y, 0.1),
            "smooth_max": ol.smooth_max(A, None, 0.1, 0.5),
            "smooth_max_q": ol.smooth_max(
                A, np.arange(6.0), 0.1, 0.5, quadratic=np.diag([1.0, 2.0, 3.0])
            ),
            "slope": ol.slope(0.5),
            "mlp_classifier": ol.mlp_classifier(A, np.arange(6) % 2, hidden=2),
            "user_fd": Objective(np.sum, np.ones_like, n=3, name="user_fd"),
            "user_hess": Objective(np.sum, np.ones_like, np.diag, n=3, name="user_hess"),
            "user_hvp": Objective(np.sum, np.ones_like, hvp=np.multiply, n=3, name="user_hvp"),
        }
    payload = {}
    for k, o in objs.items():
        x, v = np.linspace(-0.7, 0.9, o.n), np.linspace(1.0, -1.0, o.n)
        payload[k] = (o, o.f(x), o.grad(x), o.hess(x), o.hvp(x, v), repr(o))
    payload["check"] = objs["slope"].check_derivatives([0.3, -0.2])
    print(base64.b64encode(zlib.compress(pickle.dumps(payload, protocol=4), 9)).decode())

(The user-callable objectives' derivatives need not be right: what is tested is that the
names their pickles hold still resolve and the loaded objective computes what the old one
did.)
"""

from __future__ import annotations

import base64
import io
import pickle
import pickletools
import zlib

import numpy as np
import pytest

from filippov.objectives import DerivativeCheck, Objective

# The bytes were made with numpy 2, whose arrays pickle as `numpy._core...` (numpy 1.26
# reads those too; older versions cannot).
pytest.importorskip("numpy._core.multiarray")

OLD_PICKLE = (
    "eNrdWnlYFEcWZ7hBDk806zUYlAEVgSSiiViDoqijoEQSPJKxZ6aHnnEu5kC8+LxQWRsR6DXxQrxv1hglakLK4B"
    "mjMep6JMaIWcQD8YgS3WjMdnd1jTIwAsnuft+m/6iaV9Vdr9/7/d7rV90zy/1vd4Nd+GMmI6F90m2EykxYNUpW"
    "aKPW6DQmkzEjwqjQkkqrJoO0MLS33EwqbBqdiilkBe6XVWNgx73SSCthtZrZYcqV9knCl3CyaD6TzNBBBpveND"
    "VCrjSayQi9jb2OMJuJqQztxy6pNBosVrNNaeWW9eDPZNc0qNAphYzMJZsZLFIwC9iVJDKRzFXmOp+hAmkPlXWq"
    "iVNCu6r7MTkL0bwbLRrAJCYmjviNPfhG5mJlFDmDxchWFynqKkDd/h5g2NOoAKoVp49qY9fGCh1zBrfEZwk95M"
    "5OABVIXMDMZGh3A6EnWYst3KUJsGLdBd9Y03rnKxYv444t4AR/fA+d6Oet7fgfuv/H+CpeGz3YjpWEu/nYUDsJ"
    "QnuJDbHRvcSTNQZV3WGKtFg0hCE2lMwklNbQMHYh2kdtNurlZKbJzEgod8qL8qEAD3x4ZMQb4ZLMSHFvMRGeGR"
    "UWHh4t7ilWGi2UJDOKHcyMDmPlzGh2nHmPJZ5rZiQLZ2YU10QzJOtVEcEkgLOv8YeF8zMloQYhF0vdktbe7D7j"
    "l/pGuyGjO0zMK6+VTLwO9+29+tNozTXYTZe7J3a2h7RhV7nJ3JCrh2GXIrVnoeB6Fywfh3s9j5z/GYybU9Knm7"
    "rWPo/lXnEX2rf62NeZHuHusBZ6z1VFyrJ7QLjqAA+NwhGapnuSx+41jF0aaSDNhM4Jcm0spIkwEwodKX8hAbAY"
    "ulIEG75NDIeW0qaQr6IO+ebzWNIdGrgBCUu9MEYAuXXeRElteZ7zxREoD6CaP4KkTYsjfOuOR9NMsRuOwEp2BM"
    "uZUc0Lq1ZmI5tYSZUDNFx48Xn1ZRT2WGx69mm3NtKfXeT0+aMh0gGrQrIKVd3tcnA/17+aPJOlqmPysKx+8fZ5"
    "LP8ys7fuaEBckyhc/+CzIxZQ1NIh9ayR8DTlhzVGQyzLcDvqoS3K12ZVeTnX/EYXz5M74ztLtauvzC4PHyQ9dT"
    "b98a5BbzUa2v8bv1i2X/xVu7H9gVEtl/i18h944J0dw14ZMjkGseV9R7Y0xTF1g7ox5gSYNao0Uq4zpmkszyN6"
    "Z0MR7Ylds+TplvtnRilGg5y4Sde+6XYW3Nt0RBaTcxqOzv3A0Hrubdg1u3rM3i6XYWr/3ccyPr8L93bhBkpAeq"
    "zvhXWmWrDTTOXXzLgCWYEd+SdE2fcK8HPtuSDo2/Pg6rS2JQlX94OD7GheeQ18xf2dgN67VkH+8tgq0LHP5RDP"
    "2bWw83jVW1eSLjt5IHoiF0c6PpAdZMdx4YG9j3/oLhcoGVzXTRJ9bF/BzTpCz7o9CvMRVF6Uz7kpHu4c8TeDVC"
    "kHZ30Ej8XDsh905+DV9IQ+yZJtoDE+hsrGjnf/4hBYuO/RxJkXl8HsOWVbJN8uscvTWsQkv02cASD1w3Dvb/IA"
    "nsfyoU6KmJYeh8HL+Xh+eachVzaUg7M/Be+TVqyHVl14t+qb5agKGFePj415pTlPGF+L3mi0UnI9kSnQ8EIh++"
    "NPxsOmH3V4aK8grUKOfO6s+m7vJR77Yo4E97u3rLxfNsM56k/vdi96r7QCjo4Lrtnx5CzYUZzWt5X1WKOcLL/3"
    "VFG08Bw44J/VdbhXGYw5fymXePQJxPKvi7tUgm3XQfLrc2dsWn0I4Hksd/r07T2jxnzfCCfHVlmOZMy/BFZ0Dv"
    "bcmH8apqSSfoWhVxEnJ9Z7ojbBMc2hpd/zBeXpPDEv/mlJaa91hL2DtxTXOqhvK3VOSgklakql3AjppS+f9kaP"
    "UwndFJh7iceEMTZUJrQ/NWWEZ27JS0g23LQ5Lr0SLl2d5laZfxnevFYZsYZpfAcwq9cqv8OBT8BHB6Rr+/S6BU"
    "uTBgWtU16AWG7n8WDS0o2+UvHUUxn3WRjxPJa7POp9cu6mxnYAfSuCbr5jdZGuGfiPiLE1D2G7uJ/7PC70R2WC"
    "/HeEAOeb5kSBh0VnZPfQfF7WhotcXAoZO/rZKCX58adIiDrlmXjhmOrsLnudl8moGP8JFeVVrZpZlFfAuv3DZm"
    "1un6IUMrSe/14wpHmFeIBeZ5IrdQQ7o9aQ3CbXJ2w2Fxy0yMDIAlgvvV73DASQmiSsNjNp4dCgNCoVyavkz2IH"
    "2S0O7c7vmRNpV7maobxof/t7Fzm7HjstHzVyNFPIYGWp/3f1G+2pIxSkzsI0nKs60K6aF97dUJ0aenNjz2Yih7"
    "ThTOYVi/SMzJMWqRjulRDFyFxpkZJr3diIYex7E+0w9iJZAC0a16BrBXpOenmacyw6mz+PXCVXEkqKZBJt7N2r"
    "Gf4Fioc8zUyoWG5ok9gbpd15iZ9pwc/IFYRVSbEM8n1hk8hJ9h0oL+k1Bo1eM43kuOYtt5ptFna/weSwy3N0f7"
    "48L/HLu8upDJN9wo0T+HFf/go5Fzfs3fExwtjYZ8e1Dqcm/5bVwLMiAMWoyc34VUFRu9mgP/1D4PpcBjz+OGZ3"
    "0I758M6dCW9Gn8wBxzaknrk/qBhICqojPttvhkUrZlwV7WJAi5GBA8fVFIA26XkW2+1SsPgr4qG62zrQFslQkO"
    "GkknVuO77cARWod5IxAmQBPKSDxJ4uLidEH/hQwYuA+VYe8ca8OfB9yi9wxfZQuFB/dInInwCJ7vrgaUkK+NrO"
    "i8Pn/TgCutTmVQcEpYKpi9uLC1pEw+wL93I6H18DF/Q8M3eP9xgwD8lgJpLhD5Hm7huTJ4Ay1EOsx/dfIY8rv9"
    "wIDlCvbrveLwGMFfR8YpvrMfDNOWB/2tcHi4ZGg7WrFE/ia/LB7NojYWVto4B0SdtnuuiP4Mqv6I2jFlhAHJLB"
    "ciTDZ8s3RB2/0R1IVvC93R6s5+DZh77EShpECvZkCXqs1V2SxpsmgL+c7rmveisDk3NSA2/0mQSLe94JOVS1CU"
    "hvLTQeC0kBRUiGA5AMe/gMTTndeg4IRb3db9gerEf83eY7i8oKQQfbpVU/vj8F3orZ1V+emQnmCH5UT0/pH5W2"
    "EH79q6ZzTv4ksLLKogv/fDP8AslwOZJBj2V3tnW/ZACdUA8THfyG7cF6blskOoNxGUhPSuu/ves88KHgx3bnfI"
    "JvbNWB9XEnplT7M+C7u+vyXHtDKMjweySDnn8vWjlhlhp0QL2dB/sd/IbtwXrODI9vOyK8AKQKfjzx7uM2HXVL"
    "oG76k/iZ7TJAEDFF/7X7B0CFZNgSyXB33q34yN15oBT1dr5hHmB8sN+wPVjP3Fdk5VUrVwLvdq8uKlmfDRJ8B7"
    "ROm1IKq5b0GT/l1dlwKJLBj0gGx0t/6//Zu5vgMdTbeY35hnmA8cF+w/ZgPZGtNldOtCwHVE2/rV7e8+CwO5+v"
    "iOlaClVIBoIMAuILbgwXb4f+qAc4fjCvMd8wDzA+2G/YHqxnVcx+bUBJCXC9KTs3ZkMxWI1k6IZkWJjhrk0xsH"
    "tw1NvjFMcP5jXmG+YBxgf7DduD9Zg+9t+2KmspwHoEGbpkFWxITtkOXFEPcT7AcYrjB/Ma8w3zAOOD/eZoj6O9"
    "2K4CwU6cd3A+wHGK4wfzGvMN8wDj42gP1mMU7MV2YTtxfsN5B+cDHKc4fjCvMd8wDzA+eD1sD9ZDD156uGjSKS"
    "D0EOdRnN9w3sH5AMcpjh/Ma8w3x/ULHPRjPYsEvU4eIcIDLbf25Nrvepqh/uT03HFli0BM0TNZG9syYP4yL+OM"
    "XA9XeN7Ln5ieD6/PXbv68JAPwWZi6+F+4jVw+9jiwiGjtsAeMQ++yQwvhNq0o9oboathBJKBDslgZIcH0rAepW"
    "AE6lE5pXcsan9P3ckXv1GvN22L4GWzkGa5WvW86EU1kxsl0S5nf2hHsE2iVsa2VCDtZrHp2YJVa0Gij9FAWuQ6"
    "zWTuO512Cn9mJt9O5dtpfDudbXO0M7hLvLQruHrDm1Uotxcj2lkvTHnxU0I5op3HDbVWs+WNlRSrNGo1aSYNSt"
    "LC1yTos1Hfxr/AOPZN+z70x4/f/3KdHulIBAGmRnd/9X0lfMPjF+B93gDSn9VFWlvENRzI2mKuaQKygbS7SkOk"
    "cTwQ4CzjsAvgsJTz3w+f482hqs1mm/8qimiPWgWd+Rl9oN3n9N3GSf7D7e1GXnM5ahGuQuEc1yCKnCOas4v3Rl"
    "exMdEAchf/CHKzEHLe/Dd7k477HI/j9FsBPW43gOCrE5Pe3JiYG/uzYzi4YQwzTI2HouAi4V0Mu/dTTub+QhEY"
    "T5o1GQS35GB+zP4GwJff85Fms9H8fA9L+/IgOI66WY06JmHgziOPivfU5LJMiOADyhbxb8MMa8E="
)

LIBRARY = (
    "quadratic",
    "from_expr",
    "separable_quadratic",
    "rotated_quadratic",
    "ridge_logistic",
    "smooth_max",
    "smooth_max_q",
    "slope",
)
USER = ("mlp_classifier", "user_fd", "user_hess", "user_hvp")


def _old_bytes() -> bytes:
    return zlib.decompress(base64.b64decode("".join(OLD_PICKLE)))


@pytest.fixture(scope="module")
def payload():
    return pickle.loads(_old_bytes())


def test_the_old_pickle_names_the_old_layout():
    """The bytes really are the old layout's (else the tests below prove nothing)."""
    listing = io.StringIO()
    pickletools.dis(_old_bytes(), out=listing)
    text = listing.getvalue()
    for name in ("'filippov.objectives'", "'_rebuild'", "'filippov._mlp'", "'_MLP'", "'_fd_hess'"):
        assert name in text
    assert "filippov.objectives.base" not in text


@pytest.mark.parametrize("kind", LIBRARY + USER)
def test_an_old_pickle_loads_and_computes_what_it_did(kind, payload):
    obj, f, grad, hess, hvp, text = payload[kind]
    assert isinstance(obj, Objective)
    assert repr(obj) == text
    x, v = np.linspace(-0.7, 0.9, obj.n), np.linspace(1.0, -1.0, obj.n)
    np.testing.assert_allclose(obj.f(x), f, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(obj.grad(x), grad, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(obj.hess(x), hess, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(obj.hvp(x, v), hvp, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", LIBRARY)
def test_an_old_library_pickle_is_rebuilt_by_the_new_code(kind, payload):
    """A recipe is rebuilt on load: the new constructors made it, and it pickles again."""
    obj = payload[kind][0]
    assert obj._recipe is not None
    again = pickle.loads(pickle.dumps(obj))
    x = np.linspace(-0.7, 0.9, obj.n)
    np.testing.assert_allclose(again.grad(x), obj.grad(x), rtol=1e-13, atol=1e-14)


def test_old_network_and_derivative_check_pickles_load(payload):
    from filippov.objectives.mlp import MLPLoss

    network = payload["mlp_classifier"][0]
    assert isinstance(network._f.__self__, MLPLoss)
    check = payload["check"]
    assert isinstance(check, DerivativeCheck) and check.ok
